"""Decode, normalise, validate and re-encode one item's events (no Kafka I/O here).

:class:`ItemNormaliser` knows the item's dialects by source topic (each dialect has its own
topic, so the topic picks the dialect; the writer schema must then be that dialect's, or the
record fails as ``dialect.unknown_field`` / ``required``). Two steps, so the caller can look
the event id up between them (deduplication):

- :meth:`ItemNormaliser.decode`: wire-format bytes -> :class:`Decoded` (the envelope and the
  dialect), or :class:`Rejected` at stage ``decode`` (not Avro, unknown schema id, not an envelope);
- :meth:`ItemNormaliser.normalise`: -> :class:`Accepted` (key, canonical event bytes, fixes), or
  :class:`Rejected` at stage ``validate`` (naming the canonical field and rule) or ``encode``.

The canonical event keeps the envelope (same event id, department, source system, times, trace
id); ``record`` is the canonical record and ``record_key`` the item's key of it
(``item.key_of(record)``), which is also the Kafka key and ``ce_subject``: every canonical event carries the
CloudEvents attributes as headers (:mod:`govbus.cloud_events`; the same id, source, type and time as the
department event, the canonical key and the canonical schema). A DELETE has no record: its key is made
canonical from the event's ``record_key``. :exc:`govbus.exceptions.RegistryError` (the registry
cannot be reached) is not the message's fault and is raised, not turned into a rejection.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from govbus.cloud_events import Headers, change_attributes, schema_reference
from govbus.exceptions import DecodeError, SerdeError, ValidationError
from govbus.serde import WireDecoder, WireEncoder
from schemas.catalogue import DataItem
from streams.dialects import DIALECT_HEADER, FIXES_HEADER, Dialect, Fix, fixes_header
from streams.normalising.private_fixes import masked_fixes

log = logging.getLogger(__name__)

ENVELOPE_FIELDS = frozenset({"event_id", "data_item", "operation", "record_key", "record"})


@dataclass(frozen=True)
class Decoded:
    event: dict[str, Any]
    dialect: Dialect

    @property
    def event_id(self) -> str:
        return str(self.event["event_id"])


@dataclass(frozen=True)
class Accepted:
    key: bytes
    value: bytes
    event_id: str
    dialect: str
    fixes: tuple[Fix, ...]
    cloud_events: tuple[tuple[str, bytes], ...] = ()
    """the CloudEvents attributes of the canonical event (:mod:`govbus.cloud_events`)"""

    def headers(self) -> Headers:
        return [(FIXES_HEADER, fixes_header(self.fixes)), (DIALECT_HEADER, self.dialect.encode()), *self.cloud_events]


@dataclass(frozen=True)
class Rejected:
    reason: str
    stage: str
    field: str = ""
    rule: str = ""
    event_id: str = ""
    dialect: str = ""


Outcome = Accepted | Rejected


class ItemNormaliser:
    """One item's dialects by topic, the shared decoder and the canonical encoder."""

    def __init__(self, item: DataItem, dialects: Sequence[Dialect], prefix: str, decoder: WireDecoder,
                 canonical: WireEncoder, *, registry_url: str) -> None:
        self.item = item
        self._by_topic = {dialect.topic(prefix): dialect for dialect in dialects}
        self._decoder = decoder
        self._canonical = canonical
        self._dataschema = schema_reference(registry_url, canonical.schema_id)

    @property
    def topics(self) -> list[str]:
        return list(self._by_topic)

    def dialect_of(self, topic: str) -> Dialect:
        return self._by_topic[topic]

    def handle(self, raw: bytes | None, topic: str) -> Outcome:
        """Both steps at once (no deduplication)."""
        decoded = self.decode(raw, topic)
        return decoded if isinstance(decoded, Rejected) else self.normalise(decoded)

    def decode(self, raw: bytes | None, topic: str) -> Decoded | Rejected:
        dialect = self._by_topic[topic]
        try:
            event = self._decoder.decode(raw).value
        except DecodeError as error:
            return Rejected(str(error), "decode", rule="wire_format", dialect=dialect.name)
        if not ENVELOPE_FIELDS <= event.keys():
            return Rejected(f"value is not a change-event envelope (fields: {', '.join(sorted(event))})", "decode",
                            rule="envelope", dialect=dialect.name)
        return Decoded(event, dialect)

    def normalise(self, decoded: Decoded) -> Outcome:
        event, dialect = decoded.event, decoded.dialect
        try:
            record, key, fixes = self._canonical_record(event, dialect)
        except ValidationError as error:
            return Rejected(str(error), "validate", error.field, error.rule, decoded.event_id, dialect.name)
        except Exception as error:  # a record no rule foresaw must not stop the stream: it is dead-lettered
            log.exception("unexpected error normalising event %s", decoded.event_id)
            return Rejected(f"record could not be read ({type(error).__name__}; its values are not shown)", "validate",
                            rule="unreadable",
                            event_id=decoded.event_id, dialect=dialect.name)
        canonical = {**event, "record": record, "record_key": key}
        try:
            value = self._canonical.encode(canonical)
        except (SerdeError, ArithmeticError) as error:  # OverflowError: a number too large for an Avro long
            return Rejected(f"the canonical event does not encode: {error}", "encode", rule="canonical_schema",
                            event_id=decoded.event_id, dialect=dialect.name)
        return Accepted(key.encode(), value, decoded.event_id, dialect.name, masked_fixes(self.item, fixes),
                        tuple(change_attributes(canonical, self._dataschema).headers()))

    def _canonical_record(self, event: dict[str, Any], dialect: Dialect) -> tuple[Any, str, tuple[Fix, ...]]:
        if event["data_item"] != self.item.name:
            raise ValidationError("data_item", "envelope.data_item",
                                  f"the event is for {event['data_item']!r}, but this topic carries {self.item.name}")
        if event.get("department") != dialect.department:  # a department may publish only as itself
            raise ValidationError("department", "envelope.department",
                                  f"the event names department {event.get('department')!r}, but this topic is "
                                  f"{dialect.department}'s: a department publishes only its own items")
        if event["operation"] == "DELETE":
            return None, dialect.canonical_key(str(event["record_key"])), ()
        if event["record"] is None:
            raise ValidationError("record", "required", f"an {event['operation']} event has no record")
        normalised = dialect.normalise(event["record"])
        return normalised.record, self.item.key_of(normalised.record), normalised.fixes
