"""Read whole topics, from the beginning to the end offsets they have now (no consumer group)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from govbus import clients
from govbus.connection import KafkaConnection
from govbus.exceptions import PlatformError

Position = tuple[str, int]  # (topic, partition)
WATERMARK_RETRY_S = 0.25
# a group refusal is only the coordinator lookup (no group is used); a wrong password never gets better
_REFUSALS = (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError._AUTHENTICATION)


def read_topic(kafka: KafkaConnection, topic: str, timeout: float = 30.0) -> list[Message]:
    """Every message now in ``topic``, partition by partition, in offset order."""
    return read_topics(kafka, [topic], timeout)[topic]


def read_topics(kafka: KafkaConnection, topics: Sequence[str], timeout: float = 30.0) -> dict[str, list[Message]]:
    """Every message now in each of ``topics`` (all must exist), with one consumer: topic -> its messages in
    (partition, offset) order."""
    if not topics:
        return {}
    with _reader(kafka) as consumer:
        listed = consumer.list_topics(timeout=timeout).topics if len(topics) > 1 else \
            consumer.list_topics(topics[0], timeout=timeout).topics
        return _read(consumer, kafka, topics, listed, timeout)


def read_prefixed(kafka: KafkaConnection, prefix: str, timeout: float = 30.0) -> dict[str, list[Message]]:
    """Every message now in each topic starting with ``prefix`` that this principal may describe, listed and
    read with one consumer: topic -> its messages, topics in name order."""
    with _reader(kafka) as consumer:
        listed = consumer.list_topics(timeout=timeout).topics
        topics = sorted(name for name, metadata in listed.items() if name.startswith(prefix) and metadata.error is None)
        return _read(consumer, kafka, topics, listed, timeout) if topics else {}


@contextmanager
def _reader(kafka: KafkaConnection) -> Iterator[Consumer]:
    """A consumer of no group for one read; a client error that outlived the retries becomes a
    :class:`~govbus.exceptions.PlatformError` (callers handle govbus errors, not librdkafka's)."""
    consumer = clients.consumer(kafka, f"govbus-reader-{uuid.uuid4().hex}",
                                {"enable.auto.commit": False, "enable.partition.eof": True})
    try:
        yield consumer
    except KafkaException as error:
        raise PlatformError(f"reading from {kafka.bootstrap} failed: {error.args[0] if error.args else error}; "
                            "check that the broker answers and that the topics' partitions have leaders") from error
    finally:
        consumer.close()


def _read(consumer: Consumer, kafka: KafkaConnection, topics: Sequence[str], listed: Mapping[str, Any],
          timeout: float) -> dict[str, list[Message]]:
    ends: dict[Position, int] = {}
    starts: list[TopicPartition] = []
    deadline = time.monotonic() + timeout  # for every partition's watermarks together
    for topic in topics:
        metadata = listed.get(topic)
        if metadata is None or metadata.error is not None:
            raise PlatformError(f"topic {topic!r} does not exist on {kafka.bootstrap}, or "
                                f"{kafka.username or 'this client'} may not describe it: check the name, "
                                "and the principal's ACLs (`govbus acl sync --dry-run`)")
        for partition in metadata.partitions:
            low, high = _watermarks(consumer, TopicPartition(topic, partition), deadline)
            if high > low:
                ends[(topic, partition)] = high
                starts.append(TopicPartition(topic, partition, low))
    read = read_partitions(consumer, starts, ends, timeout)
    return {topic: [m for m in read if m.topic() == topic] for topic in topics}


def _watermarks(consumer: Consumer, partition: TopicPartition, deadline: float) -> tuple[int, int]:
    """Low and high offsets, asked again every 0.25 s until ``deadline`` (monotonic): a just-created partition may
    still be electing its leader, and so may one whose leader's broker has just died."""
    while True:
        try:
            low, high = consumer.get_watermark_offsets(partition, timeout=max(0.5, deadline - time.monotonic()))
            return int(low), int(high)
        except KafkaException:
            if time.monotonic() + WATERMARK_RETRY_S >= deadline:
                raise
            time.sleep(WATERMARK_RETRY_S)


def read_partitions(consumer: Consumer, starts: list[TopicPartition], ends: dict[Position, int],
                    timeout: float) -> list[Message]:
    """Messages from each partition's start offset up to (not including) its end offset (``ends`` by
    (topic, partition)), in (topic, partition, offset) order; ``consumer`` is assigned the partitions here.

    A partition written in transactions ends in a commit marker that is never delivered, so a
    partition is also done when the consumer reports its end (``enable.partition.eof``) or its
    position reaches the end offset.
    """
    if not starts:
        return []
    consumer.assign(starts)
    messages: list[Message] = []
    remaining = dict(ends)
    deadline = time.monotonic() + timeout
    while remaining:
        if time.monotonic() > deadline:
            unread = ", ".join(f"{topic}[{partition}]" for topic, partition in sorted(remaining))
            raise PlatformError(f"reading timed out with partitions {unread} unread")
        for message in consumer.consume(500, 0.5):
            position = (message.topic() or "", message.partition() or 0)
            offset = message.offset()
            error = message.error()
            if error is not None:
                if error.code() in _REFUSALS or error.fatal():
                    raise PlatformError(f"the broker refused reading {position[0]} ({error.name()}): check the "
                                        "credentials (GOVBUS_KAFKA__USERNAME, __PASSWORD) and the principal's READ "
                                        "ACL on the topic (`govbus acl sync --dry-run`)")
                if error.code() == KafkaError._PARTITION_EOF and offset is not None \
                        and offset >= remaining.get(position, 0):
                    remaining.pop(position, None)
                continue
            if offset is None or offset >= ends.get(position, 0):
                continue  # written after the end this read was asked for
            messages.append(message)
            if position in remaining and offset + 1 >= remaining[position]:
                del remaining[position]
        _drop_read_to_end(consumer, remaining)
    return sorted(messages, key=lambda m: (m.topic() or "", m.partition(), m.offset()))


def _drop_read_to_end(consumer: Consumer, remaining: dict[Position, int]) -> None:
    """Forget the partitions whose position reached their end offset (past a final commit marker)."""
    if not remaining:
        return
    for tp in consumer.position([TopicPartition(topic, partition) for topic, partition in remaining]):
        if tp.offset >= remaining[(tp.topic, tp.partition)]:
            del remaining[(tp.topic, tp.partition)]
