"""Enterprise-registration change events in the item's dialects, encoded once, for the normaliser benchmarks.

:func:`dialect_events` renders seeded samples of each dialect of ``enterprise_registration`` (the
department topic's canonical dialect and the local ones), wraps each in the change-event envelope
and encodes it as its dialect's Avro event (Confluent wire format, schema registered under its
topic's subject), interleaved across the dialects. :func:`publisher_producer` is configured as the
Publisher SDK is (acks=all, idempotence, linger 5 ms, lz4).
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient

from govbus import clients
from govbus.demo.dialect_samples import change_event, samples
from govbus.serde import WireEncoder
from govbus.topic_names import value_subject
from streams.dialects import Dialect, dialects_for
from testsupport.connections import kafka_at, registry_at

ITEM = "enterprise_registration"


@dataclass(frozen=True)
class Encoded:
    topic: str
    key: bytes
    value: bytes
    event_id: str


def dialect_events(registry_url: str, prefix: str, count: int, bad_share: float, seed: int) -> list[Encoded]:
    """``count`` events, the dialects taking turns (about ``bad_share`` of them invalid)."""
    registry = clients.registry_client(registry_at(registry_url))
    dialects = dialects_for(ITEM)
    rng = random.Random(seed)
    per_dialect = [_encoded(registry, prefix, d, -(-count // len(dialects)), bad_share, seed + n, rng)
                   for n, d in enumerate(dialects)]
    interleaved = [e for turn in itertools.zip_longest(*per_dialect) for e in turn if e is not None]
    return interleaved[:count]


def _encoded(registry: SchemaRegistryClient, prefix: str, dialect: Dialect, count: int, bad_share: float,
             seed: int, rng: random.Random) -> list[Encoded]:
    topic = dialect.topic(prefix)
    encoder = WireEncoder(registry, value_subject(topic), dialect.event_schema())
    encoded = []
    for sample in samples(ITEM, dialect.name, count, bad_share=bad_share, seed=seed):
        event = change_event(sample, dialect.department, rng)
        encoded.append(Encoded(topic, sample.key.encode(), encoder.encode(event), str(event["event_id"])))
    return encoded


def publisher_producer(bootstrap: str) -> Producer:
    """A producer with the Publisher SDK's settings."""
    return clients.producer(kafka_at(bootstrap), {"acks": "all", "enable.idempotence": True, "linger.ms": 5,
                     "compression.type": "lz4", "queue.buffering.max.messages": 500_000})


def send(producer: Producer, event: Encoded) -> None:
    """Produce ``event``, waiting while the producer's queue is full."""
    while True:
        try:
            producer.produce(event.topic, key=event.key, value=event.value)
            break
        except BufferError:
            producer.poll(0.05)
    producer.poll(0)


def produce_all(bootstrap: str, events: list[Encoded]) -> None:
    """Produce every event and wait for every acknowledgement."""
    producer = publisher_producer(bootstrap)
    for event in events:
        send(producer, event)
    if producer.flush(120):
        raise RuntimeError("the broker did not acknowledge every event in 120 s")
