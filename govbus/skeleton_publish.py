"""Publish enterprise-registration events the way a department would: confluent-kafka's
AvroSerializer through the registry, a producer with ``acks=all`` and idempotence on, and the
CloudEvents attributes as headers (:mod:`govbus.cloud_events`), as on every department topic."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, Message
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from prometheus_client import CollectorRegistry, Counter

from govbus import clients
from govbus.cloud_events import change_headers
from govbus.connection import KafkaConnection, RegistryConnection
from govbus.envelope import ChangeEvent, envelope_schema
from schemas.catalogue import record_schema


class PublishMetrics:
    """Records a publisher got acknowledged or lost, by topic."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.published = Counter("govbus_publisher_records_published", "Records the broker acknowledged",
                                 labelnames=["topic"], registry=registry)
        self.failed = Counter("govbus_publisher_records_failed", "Records the broker did not acknowledge",
                              labelnames=["topic"], registry=registry)


@dataclass
class PublishReport:
    delivered: int = 0
    failed: list[str] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)


PRODUCER_OPTIONS = {"linger.ms": 5}


def enterprise_event(record: dict[str, Any], department: str = "market-regulation") -> ChangeEvent:
    return ChangeEvent(
        data_item="enterprise_registration", department=department, source_system="registration-db",
        record_key=record["uscc"], occurred_at=dt.datetime.now(dt.UTC), record=record,
    )


def publish_events(kafka: KafkaConnection, registry: RegistryConnection, topic: str, events: Iterable[ChangeEvent],
                   on_delivered: Callable[[], None] = lambda: None,
                   metrics: PublishMetrics | None = None) -> PublishReport:
    """Serialise each event with AvroSerializer and produce it; wait for every acknowledgement."""
    schema = envelope_schema(record_schema("enterprise_registration"), "EnterpriseRegistrationEvent")
    serializer = AvroSerializer(clients.registry_client(registry), json.dumps(schema),
                                conf={"auto.register.schemas": True})
    producer = clients.producer(kafka, PRODUCER_OPTIONS)
    report = PublishReport()
    context = SerializationContext(topic, MessageField.VALUE)

    def delivered(error: KafkaError | None, message: Message) -> None:
        if error is None:
            report.delivered += 1
            on_delivered()
        else:
            report.failed.append(f"{message.key()!r}: {error.str()}")
        if metrics is not None:
            (metrics.published if error is None else metrics.failed).labels(topic=topic).inc()

    for event in events:
        envelope = event.to_avro()
        value = serializer(envelope, context)
        schema_id = int.from_bytes(value[1:5], "big")  # the Confluent wire format: magic byte, 4-byte schema id
        producer.produce(topic, key=event.record_key.encode(), value=value, on_delivery=delivered,
                         headers=change_headers(envelope, registry.url, schema_id))
        report.event_ids.append(str(event.event_id))
        producer.poll(0)
    producer.flush(60)
    return report


def publish_raw(kafka: KafkaConnection, topic: str, values: Iterable[tuple[bytes, bytes]]) -> int:
    """Produce ready-made (key, value) bytes, e.g. poison messages; return how many were acknowledged."""
    producer = clients.producer(kafka, PRODUCER_OPTIONS)
    acked = 0

    def delivered(error: KafkaError | None, _message: Message) -> None:
        nonlocal acked
        acked += error is None

    for key, value in values:
        producer.produce(topic, key=key, value=value, on_delivery=delivered)
    producer.flush(60)
    return acked
