"""Offsets are committed in batch order, and only once the batch's audit records are acknowledged."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import KafkaError, TopicPartition

from consumers.commits import OrderedCommits, PendingCommit
from govbus.exceptions import DeliveryError


class FakeConsumer:
    def __init__(self) -> None:
        self.commits: list[tuple[dict[tuple[str, int], int], bool]] = []

    def commit(self, *, offsets: list[TopicPartition], asynchronous: bool) -> None:
        self.commits.append(({(tp.topic, tp.partition): tp.offset for tp in offsets}, asynchronous))


class FakeProducer:
    def __init__(self) -> None:
        self.acks: list[Any] = []

    def poll(self, _timeout: float) -> int:
        acks, self.acks = self.acks, []
        for ack in acks:
            ack()
        return len(acks)

    def flush(self, timeout: float) -> int:
        self.poll(timeout)
        return 0


def _commits() -> tuple[OrderedCommits, FakeConsumer, FakeProducer]:
    consumer, producer = FakeConsumer(), FakeProducer()
    return OrderedCommits(consumer, producer), consumer, producer  # type: ignore[arg-type]


def test_a_batch_is_committed_only_after_its_audit_records_are_acknowledged() -> None:
    commits, consumer, producer = _commits()
    first = PendingCommit({("t", 0): 10})
    acknowledge = [first.expect(), first.expect()]
    commits.add(first)
    commits.commit_ready()
    assert consumer.commits == []
    producer.acks += [lambda: acknowledge[0](None)]
    commits.commit_ready()
    assert consumer.commits == []
    producer.acks += [lambda: acknowledge[1](None)]
    commits.commit_ready()
    assert consumer.commits == [({("t", 0): 10}, True)] and commits.committed == {("t", 0): 10}


def test_a_later_batch_waits_for_an_earlier_one_and_they_are_committed_together() -> None:
    commits, consumer, producer = _commits()
    first, second, filtered = PendingCommit({("t", 0): 5}), PendingCommit({("t", 0): 9, ("t", 1): 3}), \
        PendingCommit({("t", 1): 4})
    ack_first, ack_second = first.expect(), second.expect()
    for pending in (first, second, filtered):
        commits.add(pending)
    producer.acks += [lambda: ack_second(None)]
    commits.commit_ready()
    assert consumer.commits == [], "the second is acknowledged, but the first is not"
    producer.acks += [lambda: ack_first(None)]
    commits.commit_ready()
    assert consumer.commits == [({("t", 0): 9, ("t", 1): 4}, True)] and commits.waiting == 0


def test_waiting_commits_synchronously() -> None:
    commits, consumer, producer = _commits()
    pending = PendingCommit({("t", 2): 7})
    ack = pending.expect()
    commits.add(pending)
    producer.acks += [lambda: ack(None)]
    commits.commit_ready(wait=5)
    assert consumer.commits == [({("t", 2): 7}, False)]


def test_an_audit_record_kafka_gave_up_on_stops_the_commits_there() -> None:
    commits, consumer, producer = _commits()
    good, bad, later = PendingCommit({("t", 0): 3}), PendingCommit({("t", 0): 6}), PendingCommit({("t", 0): 8})
    ack_good, ack_bad, ack_later = good.expect(), bad.expect(), later.expect()
    for pending in (good, bad, later):
        commits.add(pending)
    producer.acks += [lambda: ack_good(None), lambda: ack_bad(KafkaError(KafkaError._MSG_TIMED_OUT)),
                      lambda: ack_later(None)]
    with pytest.raises(DeliveryError, match="audit records were not stored"):
        commits.commit_ready()
    assert consumer.commits == [({("t", 0): 3}, True)], "only the batch before the failure"
    assert commits.waiting == 0
