"""The engine's pure parts: the commit pacer and the lag collector (no broker).
The integration tests prove the rest against the real broker."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from confluent_kafka import TopicPartition
from prometheus_client import CollectorRegistry

from streams.engine import CommitPacer, EngineSettings, PartitionLag


class FakePollingConsumer:
    """poll_row takes ``wait`` seconds of the fake clock."""

    def __init__(self, clock: list[float]) -> None:
        self.clock = clock
        self.wait = 0.0

    def poll_row(self, timeout: float) -> str:
        self.clock[0] += self.wait
        return "row"


def _pacer(**settings: Any) -> tuple[CommitPacer, SimpleNamespace, FakePollingConsumer, list[float]]:
    clock = [0.0]
    context = SimpleNamespace(commit_interval=9.9)
    consumer = FakePollingConsumer(clock)
    app = SimpleNamespace(_processing_context=context, _consumer=consumer)
    pacer = CommitPacer(app, EngineSettings(**settings), clock=lambda: clock[0])  # type: ignore[arg-type]
    return pacer, context, consumer, clock


def _transaction(consumer: FakePollingConsumer, clock: list[float], polls: int, wait: float, work: float) -> None:
    """``polls`` messages, each waited for ``wait`` s in poll and handled in ``work`` s."""
    consumer.wait = wait
    for _ in range(polls):
        consumer.poll_row(0.02)
        clock[0] += work


def test_the_pacer_commits_often_when_caught_up_and_seldom_while_behind() -> None:
    pacer, context, consumer, clock = _pacer(streams_commit_interval=0.02, streams_backlog_commit_interval=0.5,
                                             streams_backlog_idle_share=0.1)
    _transaction(consumer, clock, polls=40, wait=0.0003, work=0.0002)  # waits 60 % of the time: caught up
    assert pacer.pace() == 0.02 and context.commit_interval == 0.02
    for _ in range(CommitPacer.BUSY_TRANSACTIONS - 1):  # records always ready, but not for long yet
        _transaction(consumer, clock, polls=80, wait=0.00001, work=0.00025)
        assert pacer.pace() == 0.02
    _transaction(consumer, clock, polls=80, wait=0.00001, work=0.00025)
    assert pacer.pace() == 0.5 and context.commit_interval == 0.5, "busy transactions in a row: behind"
    _transaction(consumer, clock, polls=10, wait=0.002, work=0.0002)
    assert pacer.pace() == 0.02, "caught up again: back to the short interval"


def test_one_busy_transaction_of_a_caught_up_worker_does_not_make_it_behind() -> None:
    pacer, _, consumer, clock = _pacer(streams_commit_interval=0.02, streams_backlog_commit_interval=0.5)
    for _ in range(20):
        _transaction(consumer, clock, polls=60, wait=0.00001, work=0.0005)  # a short run without waiting
        assert pacer.pace() == 0.02
        _transaction(consumer, clock, polls=20, wait=0.001, work=0.0002)
        assert pacer.pace() == 0.02


def test_a_backlog_interval_below_the_commit_interval_never_shortens_it() -> None:
    pacer, _, consumer, clock = _pacer(streams_commit_interval=0.2, streams_backlog_commit_interval=0.05)
    for _ in range(CommitPacer.BUSY_TRANSACTIONS + 1):
        _transaction(consumer, clock, polls=100, wait=0.0, work=0.001)
        assert pacer.pace() == 0.2


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
    samples = _samples(PartitionLag("normaliser", consumer))
    assert samples == {("normaliser", "in", "0"): 7}, "no position yet: not counted; changelogs are not inputs"


def test_lag_keeps_the_last_measure_when_the_consumer_cannot_answer() -> None:
    consumer = FakeConsumer({("in", 0): 5}, {("in", 0): 8})
    lag = PartitionLag("profiles", consumer)
    assert _samples(lag) == {("profiles", "in", "0"): 3}
    consumer.highs.clear()  # a scrape during a rebalance
    assert _samples(lag) == {("profiles", "in", "0"): 3}


def _samples(lag: PartitionLag) -> dict[tuple[str, ...], float]:
    registry = CollectorRegistry()
    registry.register(lag)
    return {(s.labels["processor"], s.labels["topic"], s.labels["partition"]): s.value
            for family in registry.collect() for s in family.samples}
