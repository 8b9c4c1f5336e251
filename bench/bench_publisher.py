"""Publisher rate for enterprise-registration events, against baselines measured in the same run.

    .venv/bin/python -m bench.bench_publisher [--records 50000] [--rounds 2] [--batch 1000]

- baseline: the standard path a user would write: build the envelope dict, confluent-kafka's
  AvroSerializer + Producer.produce (no validation: the records are handed over already valid), with
  librdkafka's default of five requests in flight per connection
- govbus producers keep one request in flight (``govbus.clients.kafka.SAFE_PRODUCER``: with more, a broker
  restart can lose records reported stored); the two ceilings show what that costs alone
- govbus Publisher, ``publish`` per record: validation (pydantic), envelope, pre-parsed fastavro +
  hand-written header, a future per record resolved by the delivery report
- govbus Publisher, ``publish_many`` in batches of ``--batch``: the same work, one outcome list per
  batch (the bulk paths' API)
- govbus encoding path: the baseline's records encoded the Publisher's way, without validation
- ceiling: Producer.produce of bytes serialised beforehand (no encoding cost at all)
All but the baseline and the second ceiling keep one request in flight; all use acks=all and idempotence,
on their own topics, with the same records; each rate runs from
the first record to the last acknowledgement. Prints every round, then medians with every round in
brackets. Target: the Publisher, validation included, >= 1.0x the baseline.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from bench._platform import platform
from bench._report import spread
from govbus import clients
from govbus.catalogue_topics import sync_topics
from govbus.demo.synthetic import enterprise_registrations
from govbus.publisher import Delivery, Publisher, PublisherSettings
from govbus.serde import WireEncoder
from govbus.topics import TopicSpec, ensure_topics
from schemas.catalogue import load_catalogue
from testsupport.connections import kafka_at, registry_at

ITEM = "enterprise_registration"
BASELINE = "baseline: AvroSerializer + Producer.produce"
PUBLISH = "govbus Publisher.publish (validate + envelope + encode)"
PUBLISH_MANY = "govbus Publisher.publish_many (the same, in batches)"


LIBRDKAFKA_IN_FLIGHT = 5
"""librdkafka's default ``max.in.flight.requests.per.connection`` with idempotence"""


def producer(bootstrap: str, in_flight: int = 1) -> Producer:
    return clients.producer(kafka_at(bootstrap), {"acks": "all", "enable.idempotence": True,
                     "linger.ms": 5, "compression.type": "lz4", "queue.buffering.max.messages": 200_000,
                     "max.in.flight.requests.per.connection": in_flight})


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
    print(f"  {label:<62} {rate:>10,.0f} records/s", flush=True)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1000, help="records per publish_many call")
    args = parser.parse_args()
    records = [s.record for s in enterprise_registrations(args.records, invalid_share=0.0, seed=1)]
    with platform() as (bootstrap, registry_url):
        prefix = f"govbus.bench-{uuid.uuid4().hex[:6]}"
        item = load_catalogue().get(ITEM)
        sync_topics(kafka_at(bootstrap), [item], prefix, partitions=3)
        baseline_topic, ceiling_topic, encoder_topic = (f"{prefix}.{n}" for n in ("baseline", "ceiling", "encoder"))
        ensure_topics(kafka_at(bootstrap), [TopicSpec(t, 3) for t in (baseline_topic, ceiling_topic, encoder_topic)])
        def envelope(record: dict[str, Any]) -> dict[str, Any]:
            """What a user of the standard path writes: the envelope dict around an unvalidated record."""
            now = dt.datetime.now(dt.UTC)
            event_id = uuid.uuid4()
            return {"event_id": str(event_id), "data_item": ITEM, "department": item.department,
                    "source_system": "bench", "operation": "UPSERT", "record_key": record["uscc"],
                    "occurred_at": now, "published_at": now, "trace_id": event_id.hex, "record": record}

        filled = [item.validate(r) for r in records]  # optional fields filled, so AvroSerializer accepts them
        events = [(r["uscc"].encode(), r) for r in filled]
        registry = clients.registry_client(registry_at(registry_url))
        serializer = AvroSerializer(registry, json.dumps(item.event_schema()))
        context = SerializationContext(baseline_topic, MessageField.VALUE)
        ready = [(k, serializer(envelope(v), context)) for k, v in events[:2000]] * (len(events) // 2000 + 1)
        ready = ready[:len(events)]
        settings = PublisherSettings(kafka=kafka_at(bootstrap), registry=registry_at(registry_url), topic_prefix=prefix)
        print(f"{len(records):,} enterprise-registration events, acks=all, idempotence on, 3 partitions, "
              f"{os.cpu_count()} CPUs")

        def publisher_run() -> None:
            with Publisher(item.department, "bench", settings=settings) as publisher:
                for record in records:
                    publisher.publish(ITEM, record)

        def publisher_many_run() -> None:
            with Publisher(item.department, "bench", settings=settings) as publisher:
                for start in range(0, len(records), args.batch):
                    outcomes = publisher.publish_many(ITEM, records[start:start + args.batch])
                    if not all(isinstance(outcome, Delivery) for outcome in outcomes):
                        raise RuntimeError(f"not every record was stored: {outcomes}")

        encoder = WireEncoder(registry, f"{encoder_topic}-value", item.event_schema())
        runs: dict[str, Callable[[], None]] = {
            BASELINE: lambda: produce_all(producer(bootstrap, LIBRDKAFKA_IN_FLIGHT), baseline_topic, events,
                                          lambda v: serializer(envelope(v), context)),
            PUBLISH: publisher_run,
            PUBLISH_MANY: publisher_many_run,
            "govbus encoding path: fastavro + own header, no validation":
                lambda: produce_all(producer(bootstrap), encoder_topic, events, lambda v: encoder.encode(envelope(v))),
            "ceiling: Producer.produce of ready bytes, 1 in flight":
                lambda: produce_all(producer(bootstrap), ceiling_topic, ready, lambda v: v),
            f"ceiling: the same, {LIBRDKAFKA_IN_FLIGHT} in flight":
                lambda: produce_all(producer(bootstrap, LIBRDKAFKA_IN_FLIGHT), ceiling_topic, ready, lambda v: v),
        }
        rounds = []
        for number in range(1, args.rounds + 1):
            print(f"round {number} (load average {os.getloadavg()[0]:.1f}):")
            rounds.append({label: timed(label, run, len(records)) for label, run in runs.items()})
        print(f"medians of {len(rounds)} rounds (every round in brackets):")
        for label in runs:
            values = [r[label] for r in rounds]
            ratios = [r[label] / r[BASELINE] for r in rounds]
            print(f"  {label:<62} {statistics.median(values):>9,.0f}/s {spread(values):<22} "
                  f"/ baseline {statistics.median(ratios):.2f} {spread(ratios, '.2f')}")
        print("target: the Publisher, validation included, >= 1.00 x the baseline")


if __name__ == "__main__":
    os.environ.setdefault("GOVBUS_LOG_LEVEL", "WARNING")
    main()
