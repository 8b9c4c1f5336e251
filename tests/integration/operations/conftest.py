"""The running components the metrics tests share (fleet_support.py): started by the first test that asks for
``running_fleet``, stopped by PID after the last test in a row that uses it, so they neither start twice for the
two tests that read them nor keep running under the tests that follow."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fleet_support import FleetHolder, RunningFleet

FLEET = "running_fleet"
_HOLDER = "fleet_holder"


@pytest.fixture(scope="session")
def fleet_holder(kafka_bootstrap: str, registry_url: str,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetHolder]:
    holder = FleetHolder(kafka_bootstrap, registry_url, tmp_path_factory.mktemp("fleet"))
    yield holder
    holder.stop()


@pytest.fixture
def running_fleet(fleet_holder: FleetHolder) -> RunningFleet:
    """Every component that serves /metrics, on the session broker and registry, each page showing its traffic."""
    return fleet_holder.running()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Stop the fleet when the next test does not use it (a later one that does starts it again)."""
    holder = getattr(item, "funcargs", {}).get(_HOLDER)
    if isinstance(holder, FleetHolder) and (nextitem is None or FLEET not in getattr(nextitem, "fixturenames", ())):
        holder.stop()
