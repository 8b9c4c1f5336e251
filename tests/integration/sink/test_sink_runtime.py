"""The sink runtime on the real broker: counted per record, for each bad-record policy and after a crash."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition
from prometheus_client import CollectorRegistry

from consumers.runtime import sink_options
from consumers.sink import BadMessageError, BadMessages, Batch, SinkMetrics, SinkOptions, SinkRuntime
from govbus import clients
from govbus.connection import KafkaConnection
from govbus.topic_reader import read_topic
from govbus.topics import TopicSpec, ensure_topics
from testsupport.connections import kafka_at

COORDINATOR_MOVING = {KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
                      KafkaError.COORDINATOR_NOT_AVAILABLE, KafkaError._TIMED_OUT}
RECORDS = 60
BAD = {7, 23, 41}


class CountingSink:
    """Keeps every good record's value; rejects the bad ones; can fail once after ``fail_after`` records."""

    def __init__(self, topic: str, fail_after: int | None = None) -> None:
        self.topic = topic
        self.handled: list[bytes] = []
        self.fail_after = fail_after

    def topics(self) -> list[str]:
        return [self.topic]

    def handle(self, batch: Batch) -> None:
        for message in batch.messages:
            value = message.value() or b""
            if value.startswith(b"bad"):
                batch.reject(message, "not a record of this sink")
                continue
            if self.fail_after is not None and len(self.handled) >= self.fail_after:
                raise RuntimeError("the sink crashed")
            self.handled.append(value)


@pytest.fixture
def source(kafka_bootstrap: str, unique_name: Callable[[str], str]) -> str:
    topic = unique_name("sink-source")
    kafka = kafka_at(kafka_bootstrap)
    ensure_topics(kafka, [TopicSpec(topic, 2)])
    producer = clients.producer(kafka)
    for number in range(RECORDS):
        value = f"{'bad' if number in BAD else 'good'}-{number}".encode()
        producer.produce(topic, key=str(number % 5).encode(), value=value)
    assert producer.flush(30) == 0
    return topic


@contextmanager
def running(kafka: KafkaConnection, sink: CountingSink, group: str, policy: BadMessages,
            dead_letters: str | None = None) -> Iterator[tuple[SinkRuntime, CollectorRegistry, list[BaseException]]]:
    collector = CollectorRegistry()
    producer = clients.producer(kafka) if dead_letters else None
    runtime = SinkRuntime(clients.consumer(kafka, group, sink_options()), sink,
                          SinkOptions("test", batch_size=8, batch_wait=0.05, bad_messages=policy,
                                      dead_letter_topic=dead_letters, lag_interval=0.5),
                          SinkMetrics(collector), producer)
    failures: list[BaseException] = []

    def run() -> None:
        try:
            runtime.run()
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield runtime, collector, failures
    finally:
        runtime.stop()
        thread.join(30)
        assert not thread.is_alive()


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    stopped = threading.Event()
    for _ in range(int(timeout * 10)):
        if condition():
            return
        stopped.wait(0.1)
    raise AssertionError("timed out")


def committed(kafka: KafkaConnection, group: str, topic: str) -> int:
    """Offsets committed by ``group`` on ``topic``, summed (asked again while the group's coordinator moves)."""
    consumer = clients.consumer(kafka, group)
    try:
        for _attempt in range(20):
            try:
                partitions = consumer.committed([TopicPartition(topic, p) for p in (0, 1)], timeout=10)
            except KafkaException as error:
                if not (error.args[0].retriable() or error.args[0].code() in COORDINATOR_MOVING):
                    raise
                time.sleep(0.5)
                continue
            return sum(max(tp.offset, 0) for tp in partitions)
        raise AssertionError(f"no answer about {group}'s committed offsets")
    finally:
        consumer.close()


def good_values() -> list[bytes]:
    return [f"good-{n}".encode() for n in range(RECORDS) if n not in BAD]


def test_park_sends_each_bad_record_to_the_dead_letter_topic_and_commits_everything(
        kafka_bootstrap: str, source: str, unique_name: Callable[[str], str]) -> None:
    kafka, group, parked = kafka_at(kafka_bootstrap), unique_name("sink-group"), unique_name("sink-parked")
    ensure_topics(kafka, [TopicSpec(parked, 1)])
    sink = CountingSink(source)
    with running(kafka, sink, group, BadMessages.PARK, parked) as (_runtime, collector, failures):
        wait_for(lambda: committed(kafka, group, source) == RECORDS)
        wait_for(lambda: collector.get_sample_value("govbus_sink_lag_records", {"sink": "test", "topic": source})
                 == 0)
    assert not failures
    lost = set(good_values()) - set(sink.handled)
    duplicated = len(sink.handled) - len(set(sink.handled))
    unexpected = set(sink.handled) - set(good_values())
    assert (len(lost), duplicated, len(unexpected)) == (0, 0, 0)
    dead = read_topic(kafka, parked)
    assert sorted(m.value() for m in dead) == sorted(f"bad-{n}".encode() for n in BAD)
    assert all(dict(m.headers() or [])["govbus.dlq.reason"] == b"not a record of this sink" for m in dead)
    assert collector.get_sample_value("govbus_sink_bad_messages_total", {"sink": "test", "policy": "park"}) == 3


def test_stop_commits_nothing_from_the_bad_record_on_and_skip_then_goes_past_it(
        kafka_bootstrap: str, source: str, unique_name: Callable[[str], str]) -> None:
    kafka, group = kafka_at(kafka_bootstrap), unique_name("sink-group")
    stopping = CountingSink(source)
    with running(kafka, stopping, group, BadMessages.STOP) as (_runtime, _collector, failures):
        wait_for(lambda: bool(failures))
    assert isinstance(failures[0], BadMessageError) and "stopped before it" in str(failures[0])
    assert committed(kafka, group, source) < RECORDS - len(BAD)

    skipping = CountingSink(source)
    with running(kafka, skipping, group, BadMessages.SKIP) as (_runtime, collector, failures):
        wait_for(lambda: committed(kafka, group, source) == RECORDS)
    assert not failures
    assert set(stopping.handled) | set(skipping.handled) == set(good_values()), "nothing lost"
    assert len(skipping.handled) == len(set(skipping.handled))
    assert collector.get_sample_value("govbus_sink_bad_messages_total", {"sink": "test", "policy": "skip"}) >= 1


def test_a_batch_that_failed_is_not_committed_and_is_handled_again(
        kafka_bootstrap: str, source: str, unique_name: Callable[[str], str]) -> None:
    kafka, group = kafka_at(kafka_bootstrap), unique_name("sink-group")
    crashing = CountingSink(source, fail_after=20)
    with running(kafka, crashing, group, BadMessages.SKIP) as (_runtime, _collector, failures):
        wait_for(lambda: bool(failures))
    assert str(failures[0]) == "the sink crashed"
    done = committed(kafka, group, source)
    assert done <= 20 + len(BAD), "nothing past the failed batch is committed"

    again = CountingSink(source)
    with running(kafka, again, group, BadMessages.SKIP) as (_runtime, _collector, failures):
        wait_for(lambda: committed(kafka, group, source) == RECORDS)
    assert not failures
    assert set(crashing.handled) | set(again.handled) == set(good_values()), "nothing lost"
    assert len(again.handled) == len(set(again.handled)), "no duplicate within a run"


def replaying(kafka: KafkaConnection, sink: CountingSink, since_ms: int | None = None) -> SinkRuntime:
    return SinkRuntime(clients.consumer(kafka, f"replay-{uuid.uuid4().hex}", {"enable.auto.commit": False}), sink,
                       SinkOptions("replay", batch_size=8, batch_wait=0.05, bad_messages=BadMessages.SKIP,
                                   lag_interval=0, replay=True, replay_since_ms=since_ms),
                       SinkMetrics(CollectorRegistry()))


def replay_until_caught_up(runtime: SinkRuntime, timeout: float = 60) -> None:
    try:
        deadline = time.monotonic() + timeout
        while not runtime.caught_up.is_set() and time.monotonic() < deadline:
            runtime.step()
    finally:
        runtime.close()


def test_replay_reads_every_record_once_to_the_end_and_commits_nothing(
        kafka_bootstrap: str, source: str) -> None:
    kafka = kafka_at(kafka_bootstrap)
    sink = CountingSink(source)
    runtime = replaying(kafka, sink)
    replay_until_caught_up(runtime)
    assert runtime.caught_up.is_set()
    assert sorted(sink.handled) == sorted(good_values()), "every good record once: nothing lost or duplicated"
    assert runtime.committed == {}


def test_replay_since_a_time_starts_at_the_first_record_at_or_after_it(
        kafka_bootstrap: str, unique_name: Callable[[str], str]) -> None:
    kafka, topic = kafka_at(kafka_bootstrap), unique_name("sink-since")
    ensure_topics(kafka, [TopicSpec(topic, 2)])
    producer, start = clients.producer(kafka), int(time.time() * 1000) - 60_000
    for number in range(20):
        producer.produce(topic, key=str(number).encode(), value=f"good-{number}".encode(),
                         timestamp=start + (0 if number < 10 else 30_000))
    assert producer.flush(30) == 0
    sink = CountingSink(topic)
    runtime = replaying(kafka, sink, since_ms=start + 10_000)
    replay_until_caught_up(runtime)
    assert sorted(sink.handled) == sorted(f"good-{n}".encode() for n in range(10, 20))


def test_partitions_paused_while_waiting_come_back_fetching_after_a_rebalance(
        kafka_bootstrap: str, source: str, unique_name: Callable[[str], str]) -> None:
    """Found by the province scenario's broker kill: the runtime waited paused for the broker, its group
    rebalanced meanwhile, and partitions that came back afterwards stayed paused (librdkafka keeps a partition's
    pause across a revoke and re-assign): the Kafka delivery connector then read nothing more, for good. Here a
    second member joins while the runtime waits paused, and leaves after; every record is still handled once."""
    kafka = kafka_at(kafka_bootstrap)
    group = unique_name("sink-pause-group")
    sink = CountingSink(source)
    runtime = SinkRuntime(clients.consumer(kafka, group, sink_options()), sink,
                          SinkOptions("test", batch_size=8, batch_wait=0.05, bad_messages=BadMessages.SKIP,
                                      lag_interval=0.5), SinkMetrics(CollectorRegistry()))
    deadline = time.monotonic() + 30
    while not runtime.consumer.assignment() and time.monotonic() < deadline:
        runtime.follow_topics()
        runtime.consumer.poll(0.2)
    assert len(runtime.consumer.assignment()) == 2
    other = clients.consumer(kafka, group, {**sink_options(), "enable.auto.commit": False})
    stop_other = threading.Event()

    def join_then_leave() -> None:
        other.subscribe([source], on_assign=lambda c, parts: c.assign(parts) or c.pause(parts))
        while not stop_other.wait(0.2):
            other.poll(0.1)
        other.close()  # leaves the group: its partitions go back to the runtime

    member = threading.Thread(target=join_then_leave)
    member.start()
    runtime.wait_paused(10)  # the second member joins meanwhile: a rebalance while paused
    stop_other.set()
    member.join(30)
    deadline = time.monotonic() + 45
    while len(sink.handled) < RECORDS - len(BAD) and time.monotonic() < deadline:
        runtime.step()
    runtime.close()
    assert sorted(sink.handled) == sorted(f"good-{n}".encode() for n in range(RECORDS) if n not in BAD)
