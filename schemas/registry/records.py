"""The records of the registry's compacted log topic and their JSON encoding.

Every record is keyed so that compaction keeps exactly what a replay needs:

=========================================================  ===========================================
key                                                        value
=========================================================  ===========================================
``{"kind":"schema","subject":S,"version":V}``              ``{"id","schema","schemaType","references",
                                                           "deleted"}``; a tombstone = permanently deleted
``{"kind":"config","subject":S|null}``                     ``{"compatibilityLevel"}``; tombstone = unset
``{"kind":"mode","subject":S|null}``                       ``{"mode"}``; tombstone = unset
``{"kind":"id_hwm"}``                                      ``{"max_id"}``: highest id ever given out
``{"kind":"primary","epoch":E,"instance":I}``              ``{"url"}``: instance I became primary at E
=========================================================  ===========================================

Keys are written with sorted keys and no spaces so the same logical key is always the same
bytes (compaction compares bytes). Writing a record twice is harmless: the value is the full
new state, never a delta. Primary announcements have unique keys and are never compacted
away, so a replay always knows which primary wrote which record (see :mod:`state`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from schemas.registry.canonical import Reference


class MalformedRecord(ValueError):
    """A record in the log topic that this version cannot decode (it is skipped)."""


@dataclass(frozen=True)
class SchemaValue:
    """What a subject version holds."""

    schema_id: int
    schema: str
    references: tuple[Reference, ...] = ()
    deleted: bool = False


@dataclass(frozen=True)
class SchemaRecord:
    subject: str
    version: int
    value: SchemaValue | None


@dataclass(frozen=True)
class ConfigRecord:
    subject: str | None
    level: str | None


@dataclass(frozen=True)
class ModeRecord:
    subject: str | None
    mode: str | None


@dataclass(frozen=True)
class IdHighWaterRecord:
    max_id: int


@dataclass(frozen=True)
class PrimaryRecord:
    epoch: int
    instance: str
    url: str


StoreRecord = SchemaRecord | ConfigRecord | ModeRecord | IdHighWaterRecord | PrimaryRecord


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def encode(record: StoreRecord) -> tuple[bytes, bytes | None]:
    """The Kafka key and value (``None`` for a tombstone) of ``record``."""
    if isinstance(record, SchemaRecord):
        key = {"kind": "schema", "subject": record.subject, "version": record.version}
        return _dumps(key), None if record.value is None else _dumps(_schema_value(record.value))
    if isinstance(record, ConfigRecord):
        value = None if record.level is None else _dumps({"compatibilityLevel": record.level})
        return _dumps({"kind": "config", "subject": record.subject}), value
    if isinstance(record, ModeRecord):
        value = None if record.mode is None else _dumps({"mode": record.mode})
        return _dumps({"kind": "mode", "subject": record.subject}), value
    if isinstance(record, IdHighWaterRecord):
        return _dumps({"kind": "id_hwm"}), _dumps({"max_id": record.max_id})
    key = {"kind": "primary", "epoch": record.epoch, "instance": record.instance}
    return _dumps(key), _dumps({"url": record.url})


def _schema_value(value: SchemaValue) -> dict[str, Any]:
    return {
        "id": value.schema_id,
        "schema": value.schema,
        "schemaType": "AVRO",
        "references": [r.to_json() for r in value.references],
        "deleted": value.deleted,
    }


def decode(key: bytes | None, value: bytes | None) -> StoreRecord:
    """The record stored under ``key``; raises :class:`MalformedRecord` if it is not ours."""
    k = _loads(key, "key")
    v = None if value is None else _loads(value, "value")
    kind = k.get("kind")
    try:
        if kind == "schema":
            return SchemaRecord(_str(k, "subject"), _int(k, "version"), None if v is None else _decode_schema(v))
        if kind == "config":
            return ConfigRecord(_opt_str(k, "subject"), None if v is None else _str(v, "compatibilityLevel"))
        if kind == "mode":
            return ModeRecord(_opt_str(k, "subject"), None if v is None else _str(v, "mode"))
        if kind == "id_hwm" and v is not None:
            return IdHighWaterRecord(_int(v, "max_id"))
        if kind == "primary" and v is not None:
            return PrimaryRecord(_int(k, "epoch"), _str(k, "instance"), _str(v, "url"))
    except (KeyError, TypeError) as exc:
        raise MalformedRecord(f"record of kind {kind!r} is missing or has a bad field: {exc}") from None
    raise MalformedRecord(f"unknown record kind {kind!r}")


def _decode_schema(v: dict[str, Any]) -> SchemaValue:
    refs = tuple(Reference(_str(r, "name"), _str(r, "subject"), _int(r, "version")) for r in v.get("references") or [])
    return SchemaValue(_int(v, "id"), _str(v, "schema"), refs, bool(v.get("deleted", False)))


def _loads(data: bytes | None, what: str) -> dict[str, Any]:
    if data is None:
        raise MalformedRecord(f"record has no {what}")
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedRecord(f"record {what} is not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise MalformedRecord(f"record {what} is not a JSON object")
    return obj


def _str(obj: dict[str, Any], name: str) -> str:
    value = obj[name]
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string")
    return value


def _opt_str(obj: dict[str, Any], name: str) -> str | None:
    return None if obj.get(name) is None else _str(obj, name)


def _int(obj: dict[str, Any], name: str) -> int:
    value = obj[name]
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an integer")
    return value
