"""What one mirrored table follows, and how a Kafka message becomes a row change.

A :class:`MirrorSource` is a topic (an item's canonical topic, or a profile's compacted topic), the
table it fills, the key fields, and for a subscription the item's plan. :meth:`MirrorSource.change`
turns one message into an :class:`RowChange`:

- canonical topic: an ``UPSERT`` event upserts its record, a ``DELETE`` event deletes its
  ``record_key``; a tombstone (null value) deletes the message key;
- profile topic: the value is the profile itself (upsert), a tombstone deletes the message key;
- with a plan: a record the plan's filter does not match is deleted (the subscriber sees only
  what matches), the others are shaped (:func:`govbus.sharing.authorisation.shape`): only the
  planned fields, personal ones masked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import fastavro
from confluent_kafka.schema_registry import SchemaRegistryClient

from connectors.pg_mirror.columns import Column, columns_of
from connectors.pg_mirror.table import TableName
from consumers.runtime import KafkaMessage
from govbus.exceptions import ConfigurationError, DecodeError, GovbusError, RegistryError
from govbus.serde import Decoded, WireDecoder, writer_schema
from govbus.sharing.authorisation import ItemPlan, matches, shape
from schemas.catalogue.model import KEY_SEPARATOR

Key = tuple[Any, ...]


@dataclass(frozen=True)
class RowChange:
    """One message as a change of one row: an upsert (``record`` set) or a delete (``record`` None)."""

    table: TableName
    key: Key
    record: dict[str, Any] | None
    columns: tuple[Column, ...] = ()
    """The writer schema's columns (upserts only)."""
    origin: str = ""
    """Where the event came from: ``topic[partition]@offset``."""
    item: str = ""
    event_id: str = ""
    key_text: str = ""
    """The record key as events carry it (fields joined with ``|``)."""
    masked: tuple[str, ...] = ()
    """Fields the plan masked in ``record``."""
    filtered: bool = False
    """A delete because the record no longer matches the subscription's filter (nothing delivered)."""


@dataclass(frozen=True)
class MirrorSource:
    """One topic mirrored into one table."""

    name: str
    """The item (``credit_record``) or profile (``profile:enterprise``)."""
    topic: str
    table: TableName
    key_fields: tuple[str, ...]
    key_types: tuple[str, ...]
    """Avro type of each key field: ``string``, ``int`` or ``long``."""
    envelope: bool
    """Canonical change events (True) or profile values (False)."""
    plan: ItemPlan | None = None

    def key_from_text(self, text: str) -> Key:
        """A record key as the envelope and message keys carry it (fields joined with ``|``), typed."""
        parts = text.split(KEY_SEPARATOR) if len(self.key_fields) > 1 else [text]
        if len(parts) != len(self.key_fields):
            raise DecodeError(f"record key {text!r} does not have the {len(self.key_fields)} parts "
                              f"{', '.join(self.key_fields)}")
        try:
            return tuple(int(part) if kind in ("int", "long") else part for part, kind in zip(parts, self.key_types,
                                                                                              strict=True))
        except ValueError as error:
            raise DecodeError(f"record key {text!r}: {error}") from error

    def key_of(self, record: Mapping[str, Any]) -> Key:
        missing = [name for name in self.key_fields if record.get(name) is None]
        if missing:
            raise DecodeError(f"record of {self.name} lacks key field(s) {', '.join(missing)}")
        return tuple(record[name] for name in self.key_fields)

    def record_of(self, value: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        """(record, record_key): the record to upsert, or ``None`` and the key text to delete."""
        if not self.envelope:
            return value, None
        if value.get("operation") == "DELETE" or value.get("record") is None:
            return None, str(value.get("record_key"))
        record = value["record"]
        if not isinstance(record, dict):
            raise DecodeError(f"the record of this {self.name} event is a {type(record).__name__}, not a record")
        return record, None


class ColumnCache:
    """Writer schema id -> the columns of a source's rows written with it (registry look-up once per id)."""

    def __init__(self, registry: SchemaRegistryClient) -> None:
        self._registry = registry
        self._cache: dict[tuple[int, str], tuple[Column, ...]] = {}

    def columns(self, schema_id: int, source: MirrorSource) -> tuple[Column, ...]:
        cached = self._cache.get((schema_id, source.name))
        if cached is not None:
            return cached
        record_schema = _record_schema(self._writer_schema(schema_id), source.envelope)
        plan = source.plan
        try:
            columns = tuple(columns_of(record_schema, only=plan.fields if plan else None,
                                       as_text=tuple(plan.masked) if plan else ()))
        except ConfigurationError as error:  # a field name no table can have: the event's fault, not the mirror's
            raise DecodeError(f"writer schema {schema_id} cannot be mirrored: {error}") from None
        self._cache[(schema_id, source.name)] = columns
        return columns

    def _writer_schema(self, schema_id: int) -> dict[str, Any]:
        expanded = fastavro.schema.expand_schema(writer_schema(self._registry, schema_id))
        if not isinstance(expanded, dict):
            raise DecodeError(f"schema {schema_id} is not a record schema")
        return expanded


def _record_schema(writer: dict[str, Any], envelope: bool) -> dict[str, Any]:
    if not envelope:
        return writer
    field = next((f for f in writer.get("fields", []) if f["name"] == "record"), None)
    if field is None:
        raise DecodeError(f"writer schema {writer.get('name')} is not a change-event envelope (no record field)")
    branch = field["type"]
    if isinstance(branch, list):
        branch = next(b for b in branch if b != "null")
    if not isinstance(branch, dict) or branch.get("type") != "record":
        raise DecodeError(f"the record field of {writer.get('name')} is not a record")
    return branch


class ChangeReader:
    """Turns messages of the sources' topics into row changes."""

    def __init__(self, sources: Sequence[MirrorSource], registry: SchemaRegistryClient) -> None:
        self._by_topic = {source.topic: source for source in sources}
        self._decoder = WireDecoder(registry)
        self._columns = ColumnCache(registry)

    def set_sources(self, sources: Sequence[MirrorSource]) -> None:
        """New plans (after a grant or subscription changed); cached columns follow the new plans."""
        if {s.topic: s for s in sources} != self._by_topic:
            self._by_topic = {source.topic: source for source in sources}
            self._columns = ColumnCache(self._columns._registry)

    def change(self, message: KafkaMessage) -> RowChange:
        """The row change one message asks for; :class:`DecodeError` when it cannot be read."""
        source = self._by_topic.get(message.topic() or "")
        if source is None:
            raise DecodeError(f"no mirrored source reads topic {message.topic()!r}")
        where = origin(message)
        raw = message.value()
        if raw is None:
            text = _key_text(message)
            return RowChange(source.table, source.key_from_text(text), None, origin=where, item=source.name,
                             key_text=text)
        decoded = _decode(self._decoder, raw)
        event_id = str(decoded.value.get("event_id") or "")
        record, key_text = source.record_of(decoded.value)
        if record is None:
            text = key_text or _key_text(message)
            return RowChange(source.table, source.key_from_text(text), None, origin=where, item=source.name,
                             event_id=event_id, key_text=text)
        key = source.key_of(record)
        text = KEY_SEPARATOR.join(str(part) for part in key)
        plan = source.plan
        masked: tuple[str, ...] = ()
        if plan is not None:
            if not matches(record, plan):
                return RowChange(source.table, key, None, origin=where, item=source.name, event_id=event_id,
                                 key_text=text, filtered=True)
            shaped = shape(record, plan)
            record, masked = shaped.record, tuple(shaped.masked_fields)
        return RowChange(source.table, key, record, self._columns.columns(decoded.schema_id, source), where,
                         source.name, event_id, text, masked)


def _decode(decoder: WireDecoder, raw: bytes) -> Decoded:
    try:
        return decoder.decode(raw)
    except GovbusError:
        raise
    except Exception as error:  # a schema look-up that failed in the registry client's transport
        raise RegistryError(f"the schema registry did not answer: {error!r}") from error


def origin(message: KafkaMessage) -> str:
    """``topic[partition]@offset`` of a message, for messages and logs."""
    return f"{message.topic()}[{message.partition()}]@{message.offset()}"


def _key_text(message: KafkaMessage) -> str:
    key = message.key()
    if key is None:
        raise DecodeError("a delete without a record key (null value and null message key)")
    return key.decode("utf-8", errors="replace")


def key_types(record_schema: Mapping[str, Any], key_fields: Sequence[str]) -> tuple[str, ...]:
    """The Avro type of each key field (``string``, ``int`` or ``long``)."""
    types = {f["name"]: f["type"] for f in record_schema["fields"]}
    out = []
    for name in key_fields:
        kind = types.get(name)
        if kind not in ("string", "int", "long"):
            raise ConfigurationError(f"key field {name!r} is {json.dumps(kind)}; a key is a non-null string, "
                                     "int or long")
        out.append(str(kind))
    return tuple(out)
