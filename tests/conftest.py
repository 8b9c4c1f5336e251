"""Session fixtures: a real Kafka broker and the real schema registry, unique names per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from govbus.logs import configure_logging
from testsupport.broker import session_broker


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A broker address: GOVBUS_KAFKA__BOOTSTRAP, else a local broker, else testcontainers."""
    configure_logging("INFO")
    with session_broker() as bootstrap:
        yield bootstrap


@pytest.fixture(scope="session")
def registry_url(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The govbus schema registry, as a real process on a free port (or GOVBUS_REGISTRY__URL)."""
    given = os.environ.get("GOVBUS_REGISTRY__URL")
    if given:
        yield given
        return
    from govbus.platform.processes import free_port
    from govbus.platform.registry_process import start_registry_process
    from testsupport.leftovers import ProcessLedger

    registry = start_registry_process(
        bootstrap=kafka_bootstrap, port=free_port(),
        log_path=tmp_path_factory.mktemp("registry") / "registry.log",
        topic=f"_govbus_schemas_{uuid.uuid4().hex[:8]}",
    )
    ledger = ProcessLedger()
    ledger.add(registry.pid, "schemas.registry")
    try:
        yield registry.url
    finally:
        registry.stop()
        ledger.remove(registry.pid)


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """``unique_name("orders")`` -> a topic / group / subject name no other test uses."""
    test = "".join(c if c.isalnum() else "-" for c in request.node.name)[:40]

    def make(prefix: str) -> str:
        return f"{prefix}-{test}-{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
