"""The latency benchmark's reader, in its own process (as a subscriber would be):
``python -m bench._latency_probe BOOTSTRAP REGISTRY_URL TOPIC WARM TOTAL DEADLINE_SECONDS``.

A read_committed ``Consumer`` (a downstream reader sees a transaction's outputs only once it commits)
reads ``TOPIC`` from its beginning, one message at a time, and notes ``time.monotonic()`` as each
message is returned to it; on Linux that clock is CLOCK_MONOTONIC, one clock for every process of
the machine, so the benchmark can subtract its own send times from these. Prints ``ready`` once
assigned, ``warm`` after the first WARM messages, and after TOTAL messages (or at the deadline, with
what it has) one JSON line ``{"received": {event_id: monotonic seconds}}``; the event ids are decoded
only then, so decoding never delays a receive time.
"""

from __future__ import annotations

import json
import sys
import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from govbus import clients
from govbus.serde import WireDecoder
from testsupport.connections import kafka_at, registry_at


def receive(bootstrap: str, topic: str, warm: int, total: int, deadline: float) -> list[tuple[float, bytes]]:
    """(receive time, value) of up to ``total`` messages of ``topic``."""
    consumer = clients.consumer(kafka_at(bootstrap), f"bench-probe-{uuid.uuid4().hex}", {"enable.auto.commit": False})
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    print("ready", flush=True)
    received: list[tuple[float, bytes]] = []
    try:
        while len(received) < total and time.monotonic() < deadline:
            message = consumer.poll(0.1)  # one at a time: consume(n, t) would wait for n messages or t
            if message is None or message.error():
                continue
            received.append((time.monotonic(), message.value() or b""))
            if len(received) == warm:
                print("warm", flush=True)
    finally:
        consumer.close()
    return received


def main(bootstrap: str, registry_url: str, topic: str, warm: int, total: int, seconds: float) -> None:
    received = receive(bootstrap, topic, warm, total, time.monotonic() + seconds)
    decoder = WireDecoder(clients.registry_client(registry_at(registry_url)))
    times = {str(decoder.decode(value).value["event_id"]): at for at, value in received}
    print(json.dumps({"received": times}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]))
