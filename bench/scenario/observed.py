"""What the bus did, read back from the broker after a run: the departments' events, the canonical events and
dead letters, the Kafka subscribers' deliveries and the audit (as the administrator; nothing here trusts a
component's own counters)."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Message

from govbus import clients
from govbus.audit_record import AuditRecord
from govbus.connection import KafkaConnection, RegistryConnection
from govbus.exceptions import DecodeError
from govbus.serde import WireDecoder
from govbus.topic_reader import read_topics
from streams.dead_letters import DeadLetter


@dataclass(frozen=True)
class Event:
    """One change event as a topic holds it."""

    event_id: str
    item: str
    key: str
    topic: str
    partition: int
    offset: int
    published_at: float
    record: dict[str, Any] | None
    appended_at: float = 0.0
    """when the broker stored it (the message's timestamp)"""


@dataclass
class Observed:
    department: list[Event] = field(default_factory=list)
    undecodable: int = 0
    canonical: list[Event] = field(default_factory=list)
    dead_letters: list[tuple[str, int, int, str]] = field(default_factory=list)
    """(source topic, partition, offset, reason) of each dead letter"""
    delivered: dict[str, list[tuple[dict[str, Any], bytes | None, float]]] = field(default_factory=dict)
    """Kafka subscriber -> (value, key, broker timestamp in epoch seconds) of each delivery message"""
    audit: list[AuditRecord] = field(default_factory=list)

    def department_at(self) -> dict[tuple[str, int, int], Event]:
        return {(e.topic, e.partition, e.offset): e for e in self.department}

    def canonical_by_id(self) -> dict[str, list[Event]]:
        found: dict[str, list[Event]] = defaultdict(list)
        for event in self.canonical:
            found[event.event_id].append(event)
        return found


def _epoch(value: Any) -> float:
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value).timestamp()
    return 0.0


def _events(messages: list[Message], decoder: WireDecoder, observed: Observed) -> list[Event]:
    events = []
    for message in messages:
        try:
            value = decoder.decode(message.value()).value
        except DecodeError:
            observed.undecodable += 1
            continue
        record = value.get("record")
        events.append(Event(str(value.get("event_id")), str(value.get("data_item")), str(value.get("record_key")),
                            message.topic() or "", message.partition() or 0, message.offset() or 0,
                            _epoch(value.get("published_at")), record if isinstance(record, dict) else None,
                            (message.timestamp()[1] or 0) / 1000))
    return events


def read_observed(kafka: KafkaConnection, registry: RegistryConnection, department_topics: list[str],
                  canonical_topics: list[str], dead_letter_topics: list[str],
                  delivery_topics: dict[str, str], audit: list[AuditRecord]) -> Observed:
    observed = Observed(audit=audit)
    decoder = WireDecoder(clients.registry_client(registry))
    for messages in read_topics(kafka, department_topics, timeout=60).values():
        observed.department.extend(_events(messages, decoder, observed))
    for messages in read_topics(kafka, canonical_topics, timeout=60).values():
        observed.canonical.extend(_events(messages, decoder, observed))
    for messages in read_topics(kafka, dead_letter_topics, timeout=60).values():
        for message in messages:
            letter = DeadLetter.from_headers(message.headers())
            observed.dead_letters.append((letter.source_topic, letter.source_partition, letter.source_offset,
                                          f"{letter.field}: {letter.rule}"))
    topics = read_topics(kafka, list(delivery_topics.values()), timeout=60)
    for subscriber, topic in delivery_topics.items():
        observed.delivered[subscriber] = [(json.loads(m.value() or b"{}"), m.key(), (m.timestamp()[1] or 0) / 1000)
                                          for m in topics[topic]]
    return observed
