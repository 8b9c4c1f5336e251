"""Partition end offsets, as the fault tests of the stream processors compare them with committed ones."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from confluent_kafka import TopicPartition

from govbus import clients
from testsupport.connections import kafka_at


def end_offsets(bootstrap: str, topics: Iterable[str], isolation: str = "read_uncommitted"
                ) -> dict[tuple[str, int], int]:
    """The end offset of every partition of ``topics``: the high watermark (``read_uncommitted``: open and
    aborted transactions included), or the last stable offset (``read_committed``: before the first record of
    a transaction still open, e.g. a killed writer's)."""
    consumer = clients.consumer(kafka_at(bootstrap), f"ends-{uuid.uuid4().hex}", {"isolation.level": isolation})
    try:
        ends: dict[tuple[str, int], int] = {}
        for topic in topics:
            for partition in consumer.list_topics(topic, timeout=10).topics[topic].partitions:
                ends[(topic, partition)] = consumer.get_watermark_offsets(TopicPartition(topic, partition),
                                                                          timeout=10)[1]
        return ends
    finally:
        consumer.close()
