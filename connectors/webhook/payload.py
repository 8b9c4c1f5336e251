"""What a receiver gets: the JSON body of one batch, built from canonical change events and plans.

One batch::

    {"subscription": "hz-one-stop", "subscriber": "hz-centre", "batch_key": "<64 hex>",
     "events": [{"event_id": "...", "idempotency_key": "...", "item": "enterprise_registration",
                 "department": "market-regulation", "operation": "UPSERT", "record_key": "9133...",
                 "occurred_at": "...", "published_at": "...", "trace_id": "...",
                 "record": {...only the planned fields...}, "masked_fields": ["legal_representative"]},
                {"event_id": "...", "operation": "DELETE", "record_key": "...", "record": null, ...}]}

- ``idempotency_key`` is the event id: a re-delivered event (retry, restart, replay) keeps it.
- ``batch_key`` (also the ``Idempotency-Key`` header) is derived from the batch's event ids, so
  the same events always make the same key.
- A delete carries the key only (``record`` is null).
- ``record_key`` is the record's key in clear only when every key field is planned for the
  subscriber and unmasked; otherwise it is ``hmac-sha256:<hex>``, a pseudonym made with a key only
  the platform holds (:mod:`govbus.sharing.pseudonyms`: stable for that subscriber, different for
  every other, independent of the signing secret), so a masked identity number never leaks through
  the key, and the receiver cannot find it again by trying candidate numbers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from govbus.exceptions import ConfigurationError
from govbus.sharing.authorisation import ItemPlan, Shaped, shape
from govbus.sharing.pseudonyms import SubscriberPseudonyms, missing_key_message

PARKED_CONTENT_HEADER = "govbus.parked.content"
PARKED_SHAPED = b"shaped"
"""A parked record whose value is a shaped event's JSON (``ShapedEvent.body``), keyed by its delivered record key."""


@dataclass(frozen=True)
class ShapedEvent:
    """One event as delivered (values as Avro decoded them; :func:`dumps` writes them), with what the
    audit records of it."""

    body: dict[str, Any]
    delivered_fields: list[str]
    masked_fields: list[str]


def json_default(value: Any) -> Any:
    """What ``json.dumps`` cannot write itself, as Avro decodes it: dates, timestamps, UUIDs, bytes, decimals."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(document: Any) -> bytes:
    """Compact UTF-8 JSON (Chinese text as is)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=json_default).encode()


def key_in_clear(plan: ItemPlan, key_fields: Sequence[str]) -> bool:
    """Whether the subscriber may see the record keys of ``plan``'s item in clear: every key field is planned
    for it, unmasked."""
    return all(f in plan.fields and f not in plan.masked for f in key_fields)


def delivered_key(record_key: str, item: str, plan: ItemPlan, key_fields: Sequence[str],
                  pseudonyms: SubscriberPseudonyms | None) -> str:
    """The record key as the subscriber may see it (see the module docstring). A key that needs a pseudonym with
    no ``pseudonyms`` to make one is refused (connectors refuse such items first: :mod:`connectors.webhook.unkeyed`),
    never sent in clear."""
    if key_in_clear(plan, key_fields):
        return record_key
    if pseudonyms is None:
        raise ConfigurationError(f"the record keys of {item} need a pseudonym: {missing_key_message()}")
    return pseudonyms.of(item, record_key)


def shape_event(event: Mapping[str, Any], plan: ItemPlan, key_fields: Sequence[str],
                pseudonyms: SubscriberPseudonyms | None) -> ShapedEvent:
    """The delivered form of canonical ``event`` under ``plan`` (a delete keeps only its key), a key the subscriber
    may not see in clear replaced by its pseudonym from ``pseudonyms`` (the subscriber's)."""
    record = event.get("record")
    is_delete = event["operation"] == "DELETE" or record is None
    shaped = Shaped({}, [], []) if record is None or is_delete else shape(record, plan)
    body = {
        "event_id": str(event["event_id"]),
        "idempotency_key": str(event["event_id"]),
        "item": event["data_item"],
        "department": event["department"],
        "operation": "DELETE" if is_delete else event["operation"],
        "record_key": delivered_key(event["record_key"], plan.item, plan, key_fields, pseudonyms),
        "occurred_at": event["occurred_at"],
        "published_at": event["published_at"],
        "trace_id": event["trace_id"],
        "record": None if is_delete else shaped.record,
        "masked_fields": shaped.masked_fields,
    }
    return ShapedEvent(body, shaped.delivered_fields, shaped.masked_fields)


def batch_key(event_ids: Iterable[str]) -> str:
    """A key the same events always get: SHA-256 of their ids in order."""
    return hashlib.sha256("\n".join(event_ids).encode()).hexdigest()


def batch_body(subscription: str, subscriber: str, events: Sequence[ShapedEvent]) -> tuple[str, bytes]:
    """``(batch_key, JSON body)`` of one POST."""
    key = batch_key(e.body["event_id"] for e in events)
    document = {"subscription": subscription, "subscriber": subscriber, "batch_key": key,
                "events": [e.body for e in events]}
    return key, dumps(document)
