"""The delivery audit: who received which record of which item, which fields, when, and how it ended.

Every subscriber connector appends one JSON record per event outcome to ``audit_topic(prefix)``
(``<prefix>.audit.deliveries``), keyed by the subscriber, with the outcome's time as the message
timestamp. It writes the record after the outcome is final (the receiver's 2xx, the parked copy
acknowledged, or the refusal decided) and before it commits the event's offset, so every
committed event has its audit record (a crash in between audits the event twice, never zero times).

Outcomes:

- ``delivered``: the receiver acknowledged it; ``fields_delivered`` and ``fields_masked`` say what it got;
- ``parked``: every attempt failed; the event went to the subscription's parked topic, nothing was received;
- ``refused``: the item was not authorised at that moment (grant revoked or expired); nothing was sent.

``govbus audit who-received ITEM KEY`` and ``govbus audit deliveries SUBSCRIBER --since TIME`` read it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from enum import StrEnum

from confluent_kafka import KafkaError, Message, Producer
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from govbus.exceptions import DeliveryError
from govbus.topic_names import audit_topic
from govbus.topics import TopicSpec

AUDIT_PARTITIONS = 3
AUDIT_CONFIG = {"retention.ms": "-1", "cleanup.policy": "delete"}
"""Kept until operators archive it: an audit that forgets is no audit."""


class Outcome(StrEnum):
    DELIVERED = "delivered"
    PARKED = "parked"
    REFUSED = "refused"


class AuditRecord(BaseModel):
    """One event's outcome for one subscription."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: dt.datetime = Field(description="when the outcome became final (UTC)")
    subscriber: str
    subscription: str
    connector: str = Field(description="webhook, postgres, feed, ...")
    item: str
    record_key: str = Field(description="the record's key in clear (the audit is internal)")
    event_id: str
    operation: str = "UPSERT"
    outcome: Outcome
    fields_delivered: list[str] = Field(default_factory=list)
    fields_masked: list[str] = Field(default_factory=list)
    grant_id: str | None = None
    attempts: int = 0
    reason: str | None = None


def audit_topic_spec(prefix: str) -> TopicSpec:
    return TopicSpec(audit_topic(prefix), AUDIT_PARTITIONS, dict(AUDIT_CONFIG))


class AuditWriter:
    """Appends audit records with ``producer`` (acks=all); :meth:`flush` says whether all were stored."""

    def __init__(self, producer: Producer, prefix: str) -> None:
        self._producer = producer
        self.topic = audit_topic(prefix)
        self._errors: list[str] = []

    def append(self, record: AuditRecord, on_delivery: Callable[[KafkaError | None], None] | None = None) -> None:
        """Send ``record``; ``on_delivery(error or None)`` runs once Kafka acknowledged or gave up on it
        (in ``poll``/``flush`` of the producer, on the calling thread)."""
        value = record.model_dump_json().encode()
        timestamp = int(record.at.timestamp() * 1000)

        def delivered(error: KafkaError | None, _message: Message) -> None:
            if error is not None:
                self._errors.append(error.str())
            if on_delivery is not None:
                on_delivery(error)

        while True:
            try:
                self._producer.produce(self.topic, key=record.subscriber.encode(), value=value, timestamp=timestamp,
                                       on_delivery=delivered)
                return
            except BufferError:
                self._producer.poll(0.1)

    def flush(self, timeout: float = 60.0) -> None:
        """Wait until every appended record is acknowledged; :class:`DeliveryError` if any was not."""
        remaining = self._producer.flush(timeout)
        errors, self._errors = self._errors, []
        if remaining or errors:
            raise DeliveryError(f"audit records were not stored in {self.topic}: "
                                f"{errors[:3] or f'{remaining} unacknowledged after {timeout:.0f} s'}; "
                                "the offsets stay uncommitted and the events are handled again")


def parse_record(message: Message) -> AuditRecord | None:
    """The audit record ``message`` holds, or None if it holds none (its value does not parse)."""
    try:
        return AuditRecord.model_validate(json.loads(message.value() or b"null"))
    except (ValueError, PydanticError):
        return None


def who_received(records: Iterable[AuditRecord], item: str, record_key: str,
                 outcomes: Iterable[Outcome] = (Outcome.DELIVERED,)) -> list[AuditRecord]:
    """Records of ``item``'s record ``record_key`` with one of ``outcomes``, oldest first."""
    wanted = set(outcomes)
    return [r for r in records if r.item == item and r.record_key == record_key and r.outcome in wanted]


def deliveries_to(records: Iterable[AuditRecord], subscriber: str,
                  outcomes: Iterable[Outcome] = tuple(Outcome)) -> list[AuditRecord]:
    """Records of ``subscriber`` with one of ``outcomes``, oldest first."""
    wanted = set(outcomes)
    return [r for r in records if r.subscriber == subscriber and r.outcome in wanted]
