"""Kafka alone, for the webhook benchmark's latency baseline:
``python -m bench._kafka_probe BOOTSTRAP TOPIC COUNT DEADLINE_SECONDS``.

Reads ``TOPIC`` from its end offsets now (no group); prints ``ready`` once assigned, then, for each of
the next COUNT messages, records the time it was read minus its CreateTime (the producer's timestamp),
and prints ``{"latencies_ms": [...]}`` as one JSON line (earlier, with what it has, at the deadline).
Runs in its own process, as the connector does.
"""

from __future__ import annotations

import json
import sys
import time
import uuid

from confluent_kafka import TopicPartition

from govbus import clients
from testsupport.connections import kafka_at


def main(bootstrap: str, topic: str, count: int, deadline_seconds: float) -> None:
    deadline = time.monotonic() + deadline_seconds
    consumer = clients.consumer(kafka_at(bootstrap), f"probe-{uuid.uuid4().hex}", {"enable.auto.commit": False})
    numbers = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    ends = [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in numbers]
    consumer.assign([TopicPartition(topic, p, end) for p, end in zip(numbers, ends, strict=True)])
    print("ready", flush=True)
    latencies: list[float] = []
    while len(latencies) < count and time.monotonic() < deadline:
        message = consumer.poll(0.1)  # one at a time: consume(n, t) would wait for n messages or t
        if message is None or message.error():
            continue
        latencies.append(time.time() * 1000 - message.timestamp()[1])
    consumer.close()
    print(json.dumps({"latencies_ms": latencies}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
