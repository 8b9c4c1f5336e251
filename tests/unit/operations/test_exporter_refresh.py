"""A refresh that fails keeps serving the last values and counts the error; a group that disappears takes its
series with it (the exporter with its broker reads replaced by a fake; the broker itself is the integration
test's, tests/integration/operations/test_exporter.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry

from govbus.connection import KafkaConnection
from govbus.exceptions import PlatformError
from govbus.operations.exporter import Exporter
from govbus.operations.lag import PartitionEnds, Position, Target
from govbus.operations.settings import ExporterSettings
from govbus.sharing.store import SharingSnapshot

P = "govbus.unit-exp"
TOPIC = f"{P}.canonical.enterprise-registration"
GROUP = f"{P}.subscription.hz"


class FakeReader:
    """The broker as the exporter reads it: one topic, one group at offset 4 of 10."""

    def __init__(self) -> None:
        self.failing = False
        self.groups_found = [GROUP]
        self.requests = 0
        self.asked: list[set[Target]] = []

    def topics(self, wanted: Callable[[str], bool]) -> dict[str, list[int]]:
        if self.failing:
            raise PlatformError("listing the topics failed: the broker is away")
        return {TOPIC: [0]}

    def groups(self, wanted: Callable[[str], bool]) -> list[str]:
        return [g for g in self.groups_found if wanted(g)]

    def committed(self, groups: Iterable[str], wanted: Callable[[str], bool]) -> dict[str, dict[Position, int]]:
        return {group: {(TOPIC, 0): 4} for group in groups}

    def ends(self, partitions: Iterable[Position]) -> dict[Position, PartitionEnds]:
        return {position: PartitionEnds(0, 10) for position in partitions}

    def timestamps(self, wanted: Iterable[Target], now_ms: int) -> dict[Target, int]:
        targets = set(wanted)
        self.asked.append(targets)
        return {target: now_ms - 90_000 for target in targets}


class FakeStore:
    def load(self) -> SharingSnapshot:
        return SharingSnapshot()


def _exporter() -> tuple[Exporter, FakeReader, CollectorRegistry]:
    registry = CollectorRegistry()
    reader = FakeReader()
    settings = ExporterSettings(kafka=KafkaConnection(bootstrap="127.0.0.1:1"), topic_prefix=P)
    exporter = Exporter(settings, registry, reader, FakeStore())  # type: ignore[arg-type]
    return exporter, reader, registry


def test_a_failed_refresh_keeps_the_last_values_and_counts_the_error() -> None:
    exporter, reader, registry = _exporter()
    labels = {"group": GROUP, "topic": TOPIC}
    assert exporter.refresh()
    assert registry.get_sample_value("govbus_group_lag_events", labels) == 6
    seconds = registry.get_sample_value("govbus_group_lag_seconds", labels)
    assert seconds is not None and 89 <= seconds <= 91
    last = registry.get_sample_value("govbus_exporter_last_refresh_timestamp_seconds")

    reader.failing = True
    assert not exporter.refresh()
    assert registry.get_sample_value("govbus_group_lag_events", labels) == 6, "the last values are served"
    assert registry.get_sample_value("govbus_exporter_refresh_errors_total") == 1
    assert registry.get_sample_value("govbus_exporter_last_refresh_timestamp_seconds") == last

    reader.failing, reader.groups_found = False, []
    assert exporter.refresh()
    assert registry.get_sample_value("govbus_group_lag_events", labels) is None, "a deleted group leaves no series"
    assert registry.get_sample_value("govbus_exporter_refresh_errors_total") == 1


def test_a_found_time_is_looked_up_once() -> None:
    exporter, reader, _registry = _exporter()
    assert exporter.refresh() and exporter.refresh()
    assert reader.asked == [{(TOPIC, 0, 4)}, set()]
