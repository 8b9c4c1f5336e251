"""The exporter's :class:`~govbus.operations.offsets.OffsetReader` reads each group's commits with a consumer of
that group that never joins it (librdkafka's admin ListConsumerGroupOffsets can crash the process when the
group's coordinator is still loading), on the session broker.

A group that never existed, on a fresh topic, is read again and again: no commits, no error, and the reads do
not create it. A group with commits gives exactly them; a transaction of that group's consumer that has sent new
offsets but not committed yet does not hold the read (the last commit shows, as the admin client showed it). The
readers of groups no longer listed are closed, and :meth:`OffsetReader.close` closes the others: their
librdkafka threads are gone.
"""

from __future__ import annotations

import gc
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from govbus import clients
from govbus.connection import KafkaConnection
from govbus.operations.offsets import OffsetReader
from govbus.topics import TopicSpec, ensure_topics
from testsupport.connections import kafka_at

TIMEOUT = 10.0


@pytest.fixture
def admin(kafka_bootstrap: str) -> KafkaConnection:
    return kafka_at(kafka_bootstrap)


@pytest.fixture
def prefix() -> str:
    return f"govbus.offr-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def reader(admin: KafkaConnection) -> Iterator[OffsetReader]:
    made = OffsetReader(admin, TIMEOUT)
    yield made
    made.close()


def _under(prefix: str) -> Callable[[str], bool]:
    return lambda name: name.startswith(f"{prefix}.")


def _commit(kafka: KafkaConnection, group: str, offsets: list[TopicPartition]) -> None:
    """Commit ``offsets`` for ``group`` with a consumer that joins nothing, asked again while the group's
    coordinator is still being set up."""
    consumer = clients.consumer(kafka, group, {"enable.auto.commit": False})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                consumer.commit(offsets=offsets, asynchronous=False)
                return
            except KafkaException as error:
                retriable = error.args[0].code() in (KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_NOT_AVAILABLE,
                                                     KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError._TIMED_OUT)
                if not retriable or time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
    finally:
        consumer.close()


def _librdkafka_threads() -> int:
    """The threads of librdkafka clients in this process (they name themselves ``rdk:...``)."""
    count = 0
    for task in Path("/proc/self/task").iterdir():
        try:
            count += (task / "comm").read_text().startswith("rdk:")
        except OSError:  # a thread that ended meanwhile
            pass
    return count


def _threads_until(settled: Callable[[int], bool]) -> int:
    """The count of librdkafka threads once ``settled`` accepts it (a closed client's threads end soon after)."""
    deadline = time.monotonic() + 10
    while not settled(count := _librdkafka_threads()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return count


def test_a_group_that_never_existed_reads_as_no_commits_again_and_again(admin: KafkaConnection, prefix: str,
                                                                         reader: OffsetReader) -> None:
    topic = f"{prefix}.canonical.fresh"
    ensure_topics(admin, [TopicSpec(topic, 2)])
    assert reader.topics(_under(prefix)) == {topic: [0, 1]}
    group = f"{prefix}.subscription.never"
    for _ in range(10):
        assert reader.committed([group], _under(prefix)) == {group: {}}
    assert reader.groups(_under(prefix)) == [], "reading a group's commits does not create it"
    assert reader.kept() == [group]


def test_commits_are_read_and_a_pending_transaction_does_not_hold_the_read(admin: KafkaConnection, prefix: str,
                                                                            reader: OffsetReader) -> None:
    topic = f"{prefix}.canonical.read"
    ensure_topics(admin, [TopicSpec(topic, 2)])
    producer = clients.producer(admin)
    for number in range(10):
        producer.produce(topic, value=b"{}", partition=number % 2)
    assert producer.flush(30) == 0
    group = f"{prefix}.processor.x"
    _commit(admin, group, [TopicPartition(topic, 0, 3)])
    reader.topics(_under(prefix))
    assert reader.committed([group], _under(prefix)) == {group: {(topic, 0): 3}}, "partition 1: never committed"

    member = clients.consumer(admin, group, {"enable.auto.commit": False})
    transactional = clients.producer(admin, {"transactional.id": f"{prefix}-txn"})
    try:
        transactional.init_transactions(30)
        transactional.begin_transaction()
        transactional.send_offsets_to_transaction([TopicPartition(topic, 0, 5)], member.consumer_group_metadata(),
                                                  30)
        started = time.monotonic()
        assert reader.committed([group], _under(prefix)) == {group: {(topic, 0): 3}}, "the last commit shows"
        assert time.monotonic() - started < TIMEOUT / 2, "the read did not wait for the transaction"
        transactional.commit_transaction(30)
        deadline = time.monotonic() + 15  # the coordinator applies the offsets once the commit marker is written
        while (found := reader.committed([group], _under(prefix))) != {group: {(topic, 0): 5}}:
            assert time.monotonic() < deadline, found
            time.sleep(0.2)
    finally:
        member.close()


def test_readers_of_groups_no_longer_listed_are_closed_and_close_closes_the_rest(admin: KafkaConnection,
                                                                                prefix: str) -> None:
    topic = f"{prefix}.canonical.close"
    ensure_topics(admin, [TopicSpec(topic, 1)])
    first, second = f"{prefix}.a", f"{prefix}.b"
    for group in (first, second):
        _commit(admin, group, [TopicPartition(topic, 0, 0)])
    gc.collect()  # the clients of earlier tests gone before counting
    reader = OffsetReader(admin, TIMEOUT)
    try:
        reader.topics(_under(prefix))
        before = _librdkafka_threads()
        assert reader.committed([first, second], _under(prefix)) == {first: {(topic, 0): 0}, second: {(topic, 0): 0}}
        assert reader.kept() == [first, second]
        two = _librdkafka_threads()
        assert two > before
        assert reader.committed([first], _under(prefix)) == {first: {(topic, 0): 0}}
        assert reader.kept() == [first], "the reader of a group no longer listed is closed"
        assert _threads_until(lambda count: count < two) < two
    finally:
        reader.close()
    assert reader.kept() == []
    # at most as many as before the readers (librdkafka may also end a bootstrap connection's thread meanwhile)
    assert _threads_until(lambda count: count <= before) <= before, "close() stopped the readers' threads"
