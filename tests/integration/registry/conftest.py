"""Registry-only fixtures: real registry processes on their own log topics, stopped by PID."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from govbus.platform.processes import free_port
from govbus.platform.registry_process import RegistryProcess, start_registry_process

StartRegistry = Callable[..., RegistryProcess]


def _topic() -> str:
    return f"_govbus_schemas_test_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def registry(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """One registry on a fresh log topic, shared by a test module (use unique subjects)."""
    log_path = tmp_path_factory.mktemp("registry") / "registry.log"
    process = start_registry_process(kafka_bootstrap, free_port(), log_path, topic=_topic())
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def registry_topic() -> str:
    """A fresh log topic name for registries started by :func:`start_registry`."""
    return _topic()


@pytest.fixture
def start_registry(kafka_bootstrap: str, tmp_path: Path) -> Iterator[StartRegistry]:
    """``start_registry(topic, port=None)`` starts a registry; all are stopped after the test."""
    started: list[RegistryProcess] = []

    def start(topic: str, port: int | None = None) -> RegistryProcess:
        log_path = tmp_path / f"registry-{len(started)}.log"
        process = start_registry_process(kafka_bootstrap, port or free_port(), log_path, topic=topic)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
