"""The engine's pure parts: the commit pacer, the lag collector and the output serialiser (no broker).
The integration tests prove the rest against the real broker."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from confluent_kafka import TopicPartition
from prometheus_client import CollectorRegistry

from streams.engine import CommitPacer, EngineSettings, Output, OutputValue, PartitionLag


def _pacer(**settings: Any) -> tuple[CommitPacer, SimpleNamespace]:
    context = SimpleNamespace(commit_interval=9.9)
    app = SimpleNamespace(_processing_context=context)
    return CommitPacer(app, EngineSettings(**settings)), context  # type: ignore[arg-type]


def test_the_pacer_commits_often_when_caught_up_and_seldom_while_behind() -> None:
    pacer, context = _pacer(streams_commit_interval=0.02, streams_backlog_commit_interval=0.5,
                            streams_backlog_records=1000)
    assert pacer.pace(0) == 0.02 and context.commit_interval == 0.02
    assert pacer.pace(1000) == 0.02, "at the threshold it is not behind yet"
    assert pacer.pace(1001) == 0.5 and context.commit_interval == 0.5
    assert pacer.pace(3) == 0.02, "caught up again: back to the short interval"


def test_a_backlog_interval_below_the_commit_interval_never_shortens_it() -> None:
    pacer, _ = _pacer(streams_commit_interval=0.2, streams_backlog_commit_interval=0.05)
    assert pacer.pace(10**6) == 0.2


@dataclass
class FakeConsumer:
    positions: dict[tuple[str, int], int]
    highs: dict[tuple[str, int], int]

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition(t, p) for t, p in self.positions]

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        return [TopicPartition(tp.topic, tp.partition, self.positions[(tp.topic, tp.partition)]) for tp in partitions]

    def get_watermark_offsets(self, tp: TopicPartition, cached: bool = False) -> tuple[int, int]:
        assert cached, "lag is read from the last fetch, without a broker request"
        return 0, self.highs[(tp.topic, tp.partition)]


def test_lag_counts_records_after_the_position_of_input_partitions_only() -> None:
    consumer = FakeConsumer({("in", 0): 5, ("in", 1): -1001, ("changelog__g--in--default", 0): 0},
                            {("in", 0): 12, ("in", 1): 4, ("changelog__g--in--default", 0): 50})
    lag = PartitionLag("normaliser", consumer)
    assert lag.waiting() == 7, "no position yet: unknown, not counted; changelogs are not inputs"
    registry = CollectorRegistry()
    registry.register(lag)
    assert registry.get_sample_value("govbus_streams_consumer_lag",
                                     {"processor": "normaliser", "topic": "in", "partition": "0"}) == 7


def test_lag_keeps_the_last_measure_when_the_consumer_cannot_answer() -> None:
    consumer = FakeConsumer({("in", 0): 5}, {("in", 0): 8})
    lag = PartitionLag("profiles", consumer)
    assert lag.waiting() == 3
    consumer.highs.clear()  # a scrape during a rebalance
    assert lag.waiting() == 3


def test_an_output_is_written_as_its_ready_bytes_and_a_none_value_is_a_tombstone() -> None:
    serialise = OutputValue()
    assert serialise(Output("t", b"k", b"\x00bytes", [])) == b"\x00bytes"
    assert serialise(Output("t", b"k", None, [("h", b"v")])) is None
