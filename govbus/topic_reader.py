"""Read a whole topic, from the beginning to the end offsets it has now (no consumer group)."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_fixed

from govbus import clients
from govbus.connection import KafkaConnection
from govbus.exceptions import PlatformError


def read_topic(kafka: KafkaConnection, topic: str, timeout: float = 30.0) -> list[Message]:
    """Every message now in ``topic``, partition by partition, in offset order."""
    consumer = clients.consumer(kafka, f"govbus-reader-{uuid.uuid4().hex}",
                                {"enable.auto.commit": False, "enable.partition.eof": True})
    try:
        metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if metadata is None or metadata.error is not None:
            raise PlatformError(f"topic {topic!r} does not exist on {kafka.bootstrap}")
        ends: dict[int, int] = {}
        starts: list[TopicPartition] = []
        for partition in metadata.partitions:
            low, high = _watermarks(consumer, TopicPartition(topic, partition), timeout)
            if high > low:
                ends[partition] = high
                starts.append(TopicPartition(topic, partition, low))
        return read_partitions(consumer, starts, ends, timeout)
    finally:
        consumer.close()


@retry(retry=retry_if_exception_type(KafkaException), stop=stop_after_attempt(20),
       wait=wait_fixed(0.25), reraise=True)
def _watermarks(consumer: Consumer, partition: TopicPartition, timeout: float) -> tuple[int, int]:
    """Low and high offsets; retried, as a just-created partition may still be electing its leader."""
    low, high = consumer.get_watermark_offsets(partition, timeout=timeout)
    return int(low), int(high)


def read_partitions(consumer: Consumer, starts: list[TopicPartition], ends: dict[int, int],
                    timeout: float) -> list[Message]:
    """Messages from each partition's start offset up to (not including) its end offset, in
    (partition, offset) order; ``consumer`` is assigned the partitions here.

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
            raise PlatformError(f"reading {starts[0].topic} timed out with partitions {sorted(remaining)} unread")
        for message in consumer.consume(500, 0.5):
            partition, offset = message.partition(), message.offset()
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF and partition is not None and offset is not None \
                        and offset >= remaining.get(partition, 0):
                    remaining.pop(partition, None)
                continue
            messages.append(message)
            if partition in remaining and offset is not None and offset + 1 >= remaining[partition]:
                del remaining[partition]
        _drop_read_to_end(consumer, starts[0].topic, remaining)
    return sorted(messages, key=lambda m: (m.partition(), m.offset()))


def _drop_read_to_end(consumer: Consumer, topic: str, remaining: dict[int, int]) -> None:
    """Forget the partitions whose position reached their end offset (past a final commit marker)."""
    if not remaining:
        return
    for tp in consumer.position([TopicPartition(topic, partition) for partition in remaining]):
        if tp.offset >= remaining[tp.partition]:
            del remaining[tp.partition]
