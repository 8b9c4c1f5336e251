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
    """A broker address: GOVBUS_KAFKA__BOOTSTRAP, else a local secured broker, else testcontainers. The tests
    reach it as its administrator (:func:`testsupport.connections.kafka_at`, and the GOVBUS_KAFKA__* variables
    the session exports); tests of least privilege provision principals of their own."""
    configure_logging("INFO")
    with session_broker() as connection:
        yield connection.bootstrap


@pytest.fixture(scope="session")
def registry_url(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The govbus schema registry, as a real process on a free port (or GOVBUS_REGISTRY__URL), with HTTP Basic
    authentication: the tests reach it as the administrator (:func:`testsupport.connections.registry_at`, and
    the GOVBUS_REGISTRY__* variables the session exports)."""
    given = os.environ.get("GOVBUS_REGISTRY__URL")
    if given:
        yield given
        return
    from govbus.platform.processes import free_port
    from govbus.platform.registry_process import start_registry_process
    from testsupport.connections import exported_registry, kafka_at, session_credentials
    from testsupport.leftovers import ProcessLedger

    directory = tmp_path_factory.mktemp("registry")
    credentials_file, admin = session_credentials(kafka_at(kafka_bootstrap), directory)
    registry = start_registry_process(
        bootstrap=kafka_bootstrap, port=free_port(), log_path=directory / "registry.log",
        topic=f"_govbus_schemas_{uuid.uuid4().hex[:8]}", credentials_file=credentials_file,
    )
    ledger = ProcessLedger()
    ledger.add(registry.pid, "schemas.registry")
    try:
        with exported_registry(admin.model_copy(update={"url": registry.url})):
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


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A pytest-xdist worker hands its count of hostile inputs to the controller (see pytest_testnodedown)."""
    from testsupport.hostile import RAN

    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["hostile_inputs"] = dict(RAN)


def pytest_testnodedown(node: object, error: object) -> None:
    """The controller adds up the hostile inputs each worker ran."""
    from testsupport.hostile import RAN

    RAN.update(getattr(node, "workeroutput", {}).get("hostile_inputs", {}))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many hostile inputs the property-based tests generated in this session (issue #11: >= 10,000 in all;
    see testsupport/hostile.py)."""
    from testsupport.hostile import RAN, summary

    if RAN:
        terminalreporter.write_sep("-", "hostile inputs generated (testsupport/hostile.py BUDGETS)")
        terminalreporter.write_line(summary())
