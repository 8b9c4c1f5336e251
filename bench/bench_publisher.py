"""Publisher rate for enterprise-registration events, against baselines measured in the same run.

    .venv/bin/python bench/bench_publisher.py [--records 50000]

- baseline: the standard path a user would write: confluent-kafka's AvroSerializer + Producer.produce
- govbus Publisher: validation (pydantic), envelope, pre-parsed fastavro + hand-written header
- ceiling: Producer.produce of bytes serialised beforehand (no encoding cost at all)
All three use acks=all and idempotence, on their own topics, with the same records.
Target (issue 3): Publisher / baseline >= 1.5.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from bench._platform import platform
from govbus.catalogue_topics import sync_topics
from govbus.envelope import ChangeEvent
from govbus.publisher import Publisher, PublisherSettings
from govbus.synthetic import enterprise_registrations
from govbus.topics import TopicSpec, ensure_topics
from schemas.catalogue import load_catalogue

ITEM = "enterprise_registration"


def producer(bootstrap: str) -> Producer:
    return Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                     "linger.ms": 5, "compression.type": "lz4", "queue.buffering.max.messages": 200_000})


def produce_all(prod: Producer, topic: str, items: list[tuple[bytes, Any]], encode: Callable[[Any], bytes]) -> None:
    for key, value in items:
        while True:
            try:
                prod.produce(topic, key=key, value=encode(value))
                break
            except BufferError:
                prod.poll(0.1)
        prod.poll(0)
    prod.flush(120)


def timed(label: str, run: Callable[[], None], count: int) -> float:
    started = time.perf_counter()
    run()
    rate = count / (time.perf_counter() - started)
    print(f"  {label:<52} {rate:>10,.0f} records/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=50_000)
    args = parser.parse_args()
    records = [s.record for s in enterprise_registrations(args.records, invalid_share=0.0, seed=1)]
    with platform() as (bootstrap, registry_url):
        prefix = f"govbus.bench-{uuid.uuid4().hex[:6]}"
        item = load_catalogue().get(ITEM)
        sync_topics(bootstrap, [item], prefix, partitions=3)
        baseline_topic, ceiling_topic = f"{prefix}.baseline", f"{prefix}.ceiling"
        ensure_topics(bootstrap, [TopicSpec(baseline_topic, 3), TopicSpec(ceiling_topic, 3)])
        now = dt.datetime.now(dt.UTC)
        events = [(r["uscc"].encode(), ChangeEvent(data_item=ITEM, department=item.department,
                                                   source_system="bench", record_key=r["uscc"], occurred_at=now,
                                                   record=item.validate(r)).to_avro()) for r in records]
        registry = SchemaRegistryClient({"url": registry_url})
        serializer = AvroSerializer(registry, json.dumps(item.event_schema()))
        context = SerializationContext(baseline_topic, MessageField.VALUE)
        ready = [(k, serializer(v, context)) for k, v in events[:2000]] * (len(events) // 2000 + 1)
        ready = ready[:len(events)]
        settings = PublisherSettings(kafka_bootstrap=bootstrap, registry_url=registry_url, topic_prefix=prefix)
        print(f"{len(records):,} enterprise-registration events, acks=all, idempotence on, 3 partitions")

        def publisher_run() -> None:
            with Publisher(item.department, "bench", settings=settings) as publisher:
                for record in records:
                    publisher.publish(ITEM, record)

        baseline = timed("baseline: AvroSerializer + Producer.produce",
                         lambda: produce_all(producer(bootstrap), baseline_topic, events,
                                             lambda v: serializer(v, context)), len(events))
        ours = timed("govbus Publisher (validate + envelope + encode)", publisher_run, len(records))
        ceiling = timed("ceiling: Producer.produce of ready bytes",
                        lambda: produce_all(producer(bootstrap), ceiling_topic, ready, lambda v: v), len(ready))
        print(f"ratio Publisher / baseline: {ours / baseline:.2f} (target >= 1.5)")
        print(f"ratio Publisher / ceiling:  {ours / ceiling:.2f}")


if __name__ == "__main__":
    os.environ.setdefault("GOVBUS_LOG_LEVEL", "WARNING")
    main()
