"""Profile messages as the connector's events: the same fields a canonical change event has.

A profile topic (``<prefix>.profile.<name>``, written by :mod:`streams.profiles`) holds the profile
itself as an Avro value, keyed by the profile key; a null value is a tombstone (the anchor record
was deleted). Every message, tombstones too, carries the headers ``govbus.event_id`` (the profile
event's id: the same on every re-emit) and ``govbus.caused_by`` (the canonical event behind it).
:func:`profile_event` turns one into the dict :func:`connectors.webhook.payload.shape_event` reads:

- ``event_id`` (so the idempotency key): the ``govbus.event_id`` header;
- ``operation``: ``UPSERT``, or ``DELETE`` for a tombstone (``record`` null);
- ``record_key``: the message key (the profile key); ``department``: null (a profile has none);
- ``occurred_at``: when the causing change happened (null for a tombstone), ``published_at``: the
  message's timestamp, ``trace_id``: the causing canonical event's id.

:func:`unchanged_for` says when a profile version changes nothing a plan delivers: it was caused
by an item the plan has no side of, so the subscriber is not told that such a record changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Protocol

from govbus.exceptions import DecodeError
from govbus.serde import WireDecoder
from govbus.sharing.authorisation import ItemPlan, ProfilePlan
from schemas.catalogue.profiles import HEADER_CAUSED_BY, HEADER_EVENT_ID


class ProfileMessage(Protocol):
    """What is read of a profile message (confluent_kafka.Message satisfies it)."""

    def key(self) -> bytes | None: ...
    def value(self) -> bytes | None: ...
    def headers(self) -> Any: ...
    def timestamp(self) -> tuple[int, int]: ...


def header_text(message: ProfileMessage) -> dict[str, str]:
    """The message's headers as ``{name: text}`` (the last value of a repeated name)."""
    return {str(name): (value or b"").decode(errors="replace") for name, value in (message.headers() or [])}


def _published_at(message: ProfileMessage) -> dt.datetime | None:
    kind, millis = message.timestamp()
    return dt.datetime.fromtimestamp(millis / 1000, dt.UTC) if kind and millis >= 0 else None


def profile_event(item: str, message: ProfileMessage, decoder: WireDecoder) -> dict[str, Any]:
    """The event of one profile message of ``item`` (``profile:<name>``); :class:`DecodeError` if unreadable."""
    if message.key() is None:
        raise DecodeError("a profile message without a key (the profile key)")
    headers = header_text(message)
    raw = message.value()
    record = None if raw is None else decoder.decode(raw).value
    cause: Mapping[str, Any] = (record or {}).get("caused_by") or {}
    event_id = headers.get(HEADER_EVENT_ID) or str((record or {}).get("event_id") or "")
    if not event_id:
        raise DecodeError(f"a profile message without the {HEADER_EVENT_ID} header: no idempotency key")
    return {
        "event_id": event_id, "data_item": item, "department": None,
        "operation": "DELETE" if record is None else "UPSERT",
        "record_key": (message.key() or b"").decode(errors="replace"),
        "occurred_at": cause.get("occurred_at"), "published_at": _published_at(message),
        "trace_id": headers.get(HEADER_CAUSED_BY) or str(cause.get("event_id") or ""),
        "record": record, "caused_by_item": cause.get("data_item"),
    }


def unchanged_for(event: Mapping[str, Any], plan: ItemPlan) -> bool:
    """True for a profile version caused by an item none of the plan's sides delivers: what the plan
    shapes of it is what it shaped of the version before (tombstones always count: the anchor went)."""
    cause = event.get("caused_by_item")
    return isinstance(plan, ProfilePlan) and event.get("record") is not None and cause is not None \
        and cause not in plan.source_items
