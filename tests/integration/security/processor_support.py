"""What the principals' tests share: the stream processors run as subprocesses under a principal, waiting with
the workers' logs at hand, and what the broker answers a principal that reads or writes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import KafkaException

from govbus import clients
from govbus.connection import KafkaConnection, RegistryConnection
from govbus.platform.components import Component, start_component
from testsupport.connections import produce_one

NORMALISER_MODULE = "streams.normaliser"
PROFILES_MODULE = "streams.profiles"


@dataclass
class Workers:
    """The processor processes a test started, each stopped by PID at the end; none may die on its own."""

    directory: Path
    started: list[Component] = field(default_factory=list)

    def start(self, name: str, module: str, connection: KafkaConnection, env: dict[str, str]) -> Component:
        """``python -m module`` reaching the broker as ``connection``'s principal, with its own state directory."""
        full = {**connection.as_env(), "GOVBUS_STREAMS_STATE_DIR": str(self.directory / f"state-{name}"), **env}
        component = start_component(name, module, full, self.directory / f"{name}.log")
        self.started.append(component)
        return component

    def stop_all(self) -> None:
        """SIGTERM each one (SIGKILL after 20 s), by PID."""
        for component in self.started:
            component.stop(timeout=20)
        running = [f"{c.name} (pid {c.pid})" for c in self.started if c.alive()]
        self.started = []
        assert not running, f"workers still running: {running}"

    def logs(self, lines: int = 30) -> str:
        return "\n".join(f"--- {c.name} (pid {c.pid}) ---\n{tail(c.log_path, lines)}" for c in self.started)

    def check_alive(self) -> None:
        dead = [c for c in self.started if not c.alive()]
        if dead:
            raise AssertionError(f"{', '.join(c.name for c in dead)} died on its own:\n{self.logs()}")


def tail(path: Path, lines: int) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else "(no log)"


def wait_until(condition: Callable[[], bool], timeout: float, what: str, workers: Workers | None = None) -> float:
    """Wait for ``condition`` (failing at once when a worker died); the seconds waited."""
    started = time.monotonic()
    while not condition():
        if workers is not None:
            workers.check_alive()
        if time.monotonic() - started > timeout:
            logs = f"\n{workers.logs()}" if workers is not None else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{logs}")
        time.sleep(0.25)
    return time.monotonic() - started


def read_outcome(connection: KafkaConnection, topic: str, group: str, timeout: float = 20.0) -> str:
    """What happens when ``connection``'s principal subscribes to ``topic`` in ``group`` (from its start, nothing
    committed): ``read`` once a record arrives, else the name of the error the broker answered
    (``TOPIC_AUTHORIZATION_FAILED`` ...), or ``nothing`` when neither came within ``timeout``."""
    consumer = clients.consumer(connection, group, {"enable.auto.commit": False, "auto.offset.reset": "earliest",
                                                    "log_level": 0})
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            return "read" if error is None else str(error.name())
        return "nothing"
    finally:
        consumer.close()


def write_outcome(connection: KafkaConnection, topic: str) -> str | None:
    """:func:`~testsupport.connections.produce_one` (idempotent), or the name of the fatal error that stopped the
    producer: ``CLUSTER_AUTHORIZATION_FAILED`` when the broker gives no producer id to a principal that may write
    no topic at all."""
    try:
        return produce_one(connection, topic)
    except KafkaException as error:
        return str(error.args[0].name())


def registry_env(registry: RegistryConnection) -> dict[str, str]:
    """The GOVBUS_REGISTRY__* variables of ``registry`` (its credentials, when it has any)."""
    env = {"GOVBUS_REGISTRY__URL": registry.url}
    if registry.username and registry.password:
        env |= {"GOVBUS_REGISTRY__USERNAME": registry.username,
                "GOVBUS_REGISTRY__PASSWORD": registry.password.get_secret_value()}
    return env
