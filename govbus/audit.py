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

Each writer chains and signs its records (:mod:`govbus.audit_chain`, keys in :mod:`govbus.audit_keys`);
``govbus audit verify`` checks every chain and reports records that do not parse. ``govbus audit who-received
ITEM KEY`` and ``govbus audit deliveries SUBSCRIBER --since TIME`` answer from the audit index
(:mod:`connectors.audit_index`) when one is set, else read the topic.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from confluent_kafka import KafkaError, Message, Producer

from govbus.audit_chain import Chain
from govbus.audit_keys import KEY_FILE_VARIABLE, SigningKey
from govbus.audit_record import AuditRecord, Outcome, Unparsable, UnparsableValue, parse_value
from govbus.exceptions import DeliveryError
from govbus.topic_names import audit_topic
from govbus.topics import TopicSpec

log = logging.getLogger(__name__)
AUDIT_PARTITIONS = 3
AUDIT_CONFIG = {"retention.ms": "-1", "cleanup.policy": "delete"}
"""Kept until operators archive it: an audit that forgets is no audit."""

__all__ = ["AUDIT_CONFIG", "AUDIT_PARTITIONS", "AuditRecord", "AuditWriter", "Outcome", "Unparsable", "UnparsableValue",
           "audit_topic_spec", "deliveries_to", "parse_record", "parse_value", "who_received"]


def audit_topic_spec(prefix: str) -> TopicSpec:
    return TopicSpec(audit_topic(prefix), AUDIT_PARTITIONS, dict(AUDIT_CONFIG))


class AuditWriter:
    """Appends audit records with ``producer`` (acks=all, idempotent: in order), each linked to the one before it
    and signed with ``signing_key`` (:mod:`govbus.audit_chain`); :meth:`flush` says whether all were stored."""

    def __init__(self, producer: Producer, prefix: str, signing_key: SigningKey | None = None) -> None:
        self._producer = producer
        self.topic = audit_topic(prefix)
        self._errors: list[str] = []
        self._chain = Chain(signing_key)
        self._restart = False
        if signing_key is None:
            log.warning("audit records are chained but not signed; `govbus audit verify` reports unsigned records",
                        extra={"topic": self.topic, "set": KEY_FILE_VARIABLE})

    @property
    def chain_id(self) -> str:
        """The id of the chain the next record joins."""
        return self._chain.chain_id

    def append(self, record: AuditRecord, on_delivery: Callable[[KafkaError | None], None] | None = None) -> None:
        """Send ``record``; ``on_delivery(error or None)`` runs once Kafka acknowledged or gave up on it
        (in ``poll``/``flush`` of the producer, on the calling thread). After a record that was not stored,
        the next one starts a new chain: the records after the lost one may be missing too."""
        if self._restart:
            self._chain.restart()
            self._restart = False
        value = self._chain.seal(record.model_dump(mode="json", exclude={"link"}))
        timestamp = int(record.at.timestamp() * 1000)

        def delivered(error: KafkaError | None, _message: Message) -> None:
            if error is not None:
                self._errors.append(error.str())
                self._restart = True
            if on_delivery is not None:
                on_delivery(error)

        while True:
            try:
                self._producer.produce(self.topic, key=record.subscriber.encode(), value=value, timestamp=timestamp,
                                       on_delivery=delivered)
                return
            except BufferError:
                self._producer.poll(0.1)
            except Exception:
                self._restart = True  # this link is not on the topic: the next record starts a new chain
                raise

    def flush(self, timeout: float = 60.0) -> None:
        """Wait until every appended record is acknowledged; :class:`DeliveryError` if any was not."""
        remaining = self._producer.flush(timeout)
        errors, self._errors = self._errors, []
        if remaining or errors:
            self._restart = True
            raise DeliveryError(f"audit records were not stored in {self.topic}: "
                                f"{errors[:3] or f'{remaining} unacknowledged after {timeout:.0f} s'}; "
                                "the offsets stay uncommitted and the events are handled again")


def parse_record(message: Message) -> AuditRecord | Unparsable:
    """The audit record ``message`` holds, or where it is and why it holds none (reported, never dropped)."""
    try:
        return parse_value(message.value())[1]
    except UnparsableValue as problem:
        return Unparsable(message.partition() or 0, message.offset() or 0, str(problem))


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
