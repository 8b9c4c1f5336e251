"""The faults a run can inject while it publishes, one per run (``--fault``), each written to ``faults.jsonl``.

=========================  ========================================================  ==========================
fault                      what happens                                              restored after
=========================  ========================================================  ==========================
``broker-kill``            SIGKILL of a Kafka broker (on a 3-node cluster: one)      10 s, restarted
``normaliser-kill``        SIGKILL of normaliser worker 1 (worker 2 takes over)      15 s, restarted
``profiles-kill``          SIGKILL of profile builder worker 1                       15 s, restarted
``outbox-kill`` ...        SIGKILL of a connector: outbox, gateway (taxation's),     5 s, restarted
                           webhook, mirror, feed, Kafka subscriber (the bank's)
``receiver-down``          the webhook receiver stops listening                      60 s
``receiver-429``           the webhook receiver answers 429 Too Many Requests        30 s
``postgres-restart``       PostgreSQL stops at once (``-m immediate``: a crash)      5 s, started again
``registry-restart``       SIGKILL of the schema registry                            5 s, restarted
=========================  ========================================================  ==========================

Recovery (``t_recovered``) is measured by the checker from what the subscribers received.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.scenario.fleet import Fleet
from bench.scenario.setup import ScenarioContext
from govbus.exceptions import PlatformError
from govbus.platform import restarts
from govbus.platform.postgres import PrivateCluster
from govbus.settings import PlatformSettings


@dataclass
class Target:
    """What a fault acts on."""

    fleet: Fleet
    context: ScenarioContext
    cluster: PrivateCluster
    control_url: str
    log: Path

    def control(self, mode: str, seconds: float) -> None:
        answer = httpx.post(f"{self.control_url}/control", json={"mode": mode, "seconds": seconds}, timeout=10)
        answer.raise_for_status()


@dataclass(frozen=True)
class Fault:
    name: str
    target: str
    down_s: float
    inject: Callable[[Target], None]
    restore: Callable[[Target], None]


def _kill(name: str) -> Callable[[Target], None]:
    return lambda target: target.fleet.kill(name)


def _start(name: str) -> Callable[[Target], None]:
    def start(target: Target) -> None:
        target.fleet.start(name, timeout=120)
    return start


def _process_fault(fault: str, process: str, down_s: float) -> Fault:
    return Fault(fault, process, down_s, _kill(process), _start(process))


def _nothing(_target: Target) -> None:
    return None


def _kill_broker(_target: Target) -> None:
    restarts.kill_broker(PlatformSettings())


def _restart_broker(_target: Target) -> None:
    restarts.restart_broker(PlatformSettings())


def _kill_registry(_target: Target) -> None:
    restarts.kill_registry(PlatformSettings())


def _restart_registry(_target: Target) -> None:
    restarts.restart_registry(PlatformSettings())


def _stop_postgres(target: Target) -> None:
    restarts.crash_postgres(target.cluster)


def _start_postgres(target: Target) -> None:
    restarts.start_postgres(target.cluster)


FAULTS: dict[str, Fault] = {fault.name: fault for fault in (
    Fault("broker-kill", "kafka broker", 10, _kill_broker, _restart_broker),
    _process_fault("normaliser-kill", "normaliser-1", 15),
    _process_fault("profiles-kill", "profiles-1", 15),
    _process_fault("outbox-kill", "outbox", 5),
    _process_fault("gateway-kill", "gateway-taxation", 5),
    _process_fault("webhook-kill", "webhook", 5),
    _process_fault("mirror-kill", "mirror", 5),
    _process_fault("feed-kill", "feed", 5),
    _process_fault("kafka-subscriber-kill", "kafka-scn-bank", 5),
    Fault("receiver-down", "webhook receiver", 60, lambda t: t.control("down", 60), _nothing),
    Fault("receiver-429", "webhook receiver", 30, lambda t: t.control("429", 30), _nothing),
    Fault("postgres-restart", "postgresql", 5, _stop_postgres, _start_postgres),
    Fault("registry-restart", "schema registry", 5, _kill_registry, _restart_registry),
)}


class Scheduled(threading.Thread):
    """One fault, injected at ``at`` (monotonic seconds) and restored ``down_s`` later, in a thread of its own so
    the departments keep publishing meanwhile; :meth:`finish` waits for it (the run never ends broken)."""

    def __init__(self, name: str, at: float, target: Target) -> None:
        super().__init__(name=f"fault-{name}", daemon=True)
        self.fault = FAULTS[name]
        self.at = at
        self.target = target
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            time.sleep(max(0.0, self.at - time.monotonic()))
            injected = time.time()
            self.fault.inject(self.target)
            time.sleep(self.fault.down_s)
            self.fault.restore(self.target)
            self._write(injected, time.time())
        except BaseException as error:  # reported by the runner
            self.error = error

    def finish(self) -> None:
        self.join()
        if self.error is not None:
            raise PlatformError(f"the fault {self.fault.name} could not be injected or restored: {self.error}") \
                from self.error

    def _write(self, injected: float, restored: float) -> None:
        line = {"fault": self.fault.name, "target": self.fault.target, "t_injected": injected,
                "t_restored": restored, "down_s": self.fault.down_s, "t_recovered": None}
        with open(self.target.log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")
