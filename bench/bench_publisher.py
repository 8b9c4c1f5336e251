"""Publisher rate for enterprise-registration events, against baselines measured in the same run.

    .venv/bin/python -m bench.bench_publisher [--records 50000]

- baseline: the standard path a user would write: build the envelope dict, confluent-kafka's
  AvroSerializer + Producer.produce (no validation: the records are handed over already valid)
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
from govbus.publisher import Publisher, PublisherSettings
from govbus.serde import WireEncoder
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
        baseline_topic, ceiling_topic, encoder_topic = (f"{prefix}.{n}" for n in ("baseline", "ceiling", "encoder"))
        ensure_topics(bootstrap, [TopicSpec(t, 3) for t in (baseline_topic, ceiling_topic, encoder_topic)])
        def envelope(record: dict[str, Any]) -> dict[str, Any]:
            """What a user of the standard path writes: the envelope dict around an unvalidated record."""
            now = dt.datetime.now(dt.UTC)
            event_id = uuid.uuid4()
            return {"event_id": str(event_id), "data_item": ITEM, "department": item.department,
                    "source_system": "bench", "operation": "UPSERT", "record_key": record["uscc"],
                    "occurred_at": now, "published_at": now, "trace_id": event_id.hex, "record": record}

        filled = [item.validate(r) for r in records]  # optional fields filled, so AvroSerializer accepts them
        events = [(r["uscc"].encode(), r) for r in filled]
        registry = SchemaRegistryClient({"url": registry_url})
        serializer = AvroSerializer(registry, json.dumps(item.event_schema()))
        context = SerializationContext(baseline_topic, MessageField.VALUE)
        ready = [(k, serializer(envelope(v), context)) for k, v in events[:2000]] * (len(events) // 2000 + 1)
        ready = ready[:len(events)]
        settings = PublisherSettings(kafka_bootstrap=bootstrap, registry_url=registry_url, topic_prefix=prefix)
        print(f"{len(records):,} enterprise-registration events, acks=all, idempotence on, 3 partitions")

        def publisher_run() -> None:
            with Publisher(item.department, "bench", settings=settings) as publisher:
                for record in records:
                    publisher.publish(ITEM, record)

        baseline = timed("baseline: AvroSerializer + Producer.produce",
                         lambda: produce_all(producer(bootstrap), baseline_topic, events,
                                             lambda v: serializer(envelope(v), context)), len(events))
        ours = timed("govbus Publisher (validate + envelope + encode)", publisher_run, len(records))
        encoder = WireEncoder(registry, f"{encoder_topic}-value", item.event_schema())
        encoding = timed("govbus encoding path: fastavro + own header, no validation",
                         lambda: produce_all(producer(bootstrap), encoder_topic, events,
                                             lambda v: encoder.encode(envelope(v))), len(events))
        ceiling = timed("ceiling: Producer.produce of ready bytes",
                        lambda: produce_all(producer(bootstrap), ceiling_topic, ready, lambda v: v), len(ready))
        print(f"ratio Publisher / baseline: {ours / baseline:.2f} (target >= 1.5)")
        print(f"ratio Publisher / ceiling:  {ours / ceiling:.2f}")
        print(f"ratio encoding path / baseline: {encoding / baseline:.2f} (the baseline's work, encoded our way)")


if __name__ == "__main__":
    os.environ.setdefault("GOVBUS_LOG_LEVEL", "WARNING")
    main()
