"""One consumed event on its way to an outcome, and the decision a subscription's connector takes on it.

Shared by every connector that delivers one subscription's events shaped by its plans (the webhook,
the Kafka delivery of :mod:`connectors.kafka_delivery`), so that both decide alike:

1. :func:`read_entry` decodes a canonical change event (or a profile message) into an :class:`Entry`;
   an event that cannot be decoded keeps a ``problem`` instead;
2. :func:`classify` decides it against the authorisation in force: ``broken`` (undecodable),
   ``refused`` (the item has no plan now: grant revoked or expired, item no longer requested),
   ``filtered`` (outside the subscription's filter, or a profile version that changes nothing the plan
   delivers) or ``send``, with the event shaped: planned fields only, personal ones masked;
3. :func:`audit_record` is the audit record of its final outcome.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from confluent_kafka import Message

from connectors.webhook.payload import ShapedEvent, shape_event
from connectors.webhook.plans import Authorisation, Decision
from connectors.webhook.profile_events import profile_event, unchanged_for
from govbus.audit import AuditRecord, Outcome
from govbus.exceptions import DecodeError
from govbus.serde import WireDecoder
from govbus.sharing.authorisation import matches
from govbus.sharing.model import Subscription
from govbus.sharing.profile_authorisation import profile_name
from govbus.sharing.pseudonyms import PseudonymKey


@dataclass
class Entry:
    """One consumed event on its way to an outcome."""

    message: Message
    item: str
    event: dict[str, Any] | None = None
    decision: Decision | None = None
    shaped: ShapedEvent | None = None
    problem: str | None = None
    """why it cannot be sent at all (undecodable)"""
    tried: int = 0
    """delivery attempts it was part of"""

    @property
    def event_id(self) -> str:
        found = self.event.get("event_id") if self.event else None
        return str(found) if found else f"{self.message.topic()}[{self.message.partition()}]@{self.message.offset()}"

    @property
    def record_key(self) -> str:
        found = self.event.get("record_key") if self.event else None
        return str(found) if found else (self.message.key() or b"").decode(errors="replace")


class Verdict(StrEnum):
    SEND = "send"
    REFUSED = "refused"
    BROKEN = "broken"
    FILTERED = "filtered"


def read_entry(message: Message, authorisation: Authorisation, decoder: WireDecoder) -> Entry:
    """The event ``message`` holds, as an entry of the item its topic carries."""
    item = authorisation.topics.get(message.topic() or "", message.topic() or "?")
    entry = Entry(message, item)
    try:
        if profile_name(item) is not None:
            entry.event = profile_event(item, message, decoder)
        else:
            entry.event = decoder.decode(message.value()).value
            entry.event["event_id"] = str(entry.event.get("event_id", ""))
    except DecodeError as error:
        entry.problem = f"undecodable at {message.topic()}[{message.partition()}]@{message.offset()}: {error}"
    return entry


def classify(entry: Entry, authorisation: Authorisation, pseudonym_key: PseudonymKey | None) -> Verdict:
    """Decide ``entry`` against ``authorisation``; on ``send`` its shaped form is in ``entry.shaped``
    (a record key its subscriber may not see in clear becomes the subscriber's pseudonym made with the
    platform's ``pseudonym_key``; connectors refuse such items first when there is none)."""
    if entry.event is None:
        return Verdict.BROKEN
    entry.decision = authorisation.decide(entry.item)
    plan = entry.decision.plan
    if plan is None:
        return Verdict.REFUSED
    record = entry.event.get("record")
    if (record is not None and entry.event["operation"] != "DELETE" and not matches(record, plan)) \
            or unchanged_for(entry.event, plan):
        return Verdict.FILTERED
    subscriber = authorisation.subscription.subscriber
    pseudonyms = pseudonym_key.for_subscriber(subscriber) if pseudonym_key is not None else None
    entry.shaped = shape_event(entry.event, plan, entry.decision.key_fields, pseudonyms)
    return Verdict.SEND


class Sorted(Protocol):
    """A batch's events by what happens to them."""

    send: list[Entry]
    refused: list[Entry]
    broken: list[Entry]


def sort_entry(entry: Entry, authorisation: Authorisation, pseudonym_key: PseudonymKey | None,
               batch: Sorted) -> bool:
    """Put ``entry`` into ``batch.send`` (shaped), ``batch.refused`` or ``batch.broken``; False when the
    subscription's filter leaves it out (it then goes nowhere)."""
    verdict = classify(entry, authorisation, pseudonym_key)
    if verdict is Verdict.FILTERED:
        return False
    {Verdict.SEND: batch.send, Verdict.REFUSED: batch.refused}.get(verdict, batch.broken).append(entry)
    return True


def audit_record(subscription: Subscription, name: str, connector: str, entry: Entry, outcome: Outcome,
                 now: dt.datetime, reason: str | None = None) -> AuditRecord:
    """The audit record of ``entry``'s final ``outcome`` for subscription ``name``, written by ``connector``."""
    delivered = outcome is Outcome.DELIVERED and entry.shaped is not None
    plan = entry.decision.plan if entry.decision else None
    return AuditRecord(
        at=now, subscriber=subscription.subscriber, subscription=name, connector=connector,
        item=entry.item, record_key=entry.record_key, event_id=entry.event_id,
        operation=str(entry.event.get("operation", "UPSERT")) if entry.event else "UNKNOWN", outcome=outcome,
        fields_delivered=entry.shaped.delivered_fields if delivered and entry.shaped else [],
        fields_masked=entry.shaped.masked_fields if delivered and entry.shaped else [],
        grant_id=plan.grant_id if plan else None, attempts=entry.tried, reason=reason)
