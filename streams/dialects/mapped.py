"""Dialects described field by field: local name, canonical name, converter, plus an optional hook
for what spans fields (an identifier routed by the holder's kind, a validity period split in two,
a code derived from another field)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from govbus.exceptions import ValidationError
from govbus.topic_names import DEFAULT_PREFIX, local_topic
from schemas.catalogue import DataItem
from schemas.catalogue.loader import pascal_case
from streams.dialects.model import Dialect, Fix, FixKind, Normalised, classify_change
from streams.dialects.parsers import Converter, FixLog

NULLABLE_STRING: list[Any] = ["null", "string"]


@dataclass(frozen=True)
class LocalField:
    """One field of a dialect's record.

    ``canonical`` is the canonical field it becomes (``None``: the dialect's hook reads it);
    ``convert`` turns its value into the canonical one, recording fixes.
    """

    name: str
    doc: str
    canonical: str | None = None
    convert: Converter | None = None
    avro_type: Any = None

    def avro(self) -> dict[str, Any]:
        field: dict[str, Any] = {"name": self.name, "type": self.avro_type or NULLABLE_STRING, "doc": self.doc}
        if isinstance(field["type"], list) and field["type"][0] == "null":
            field["default"] = None
        return field


Hook = Callable[[Mapping[str, Any], dict[str, Any], FixLog], None]
"""``hook(raw, canonical, log)``: fills or changes canonical fields from several local ones."""


def convert_fields(fields: Sequence[LocalField], raw: Mapping[str, Any], prefix: str, log: FixLog) -> dict[str, Any]:
    """The canonical fields ``fields`` make of ``raw``: null and blank values are left out (so a
    missing required field is reported as ``required``); each rename is a fix."""
    known = {f.name for f in fields}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValidationError(prefix + unknown[0], "dialect.unknown_field",
                              f"is not a field of this dialect (fields: {', '.join(sorted(known))})")
    canonical: dict[str, Any] = {}
    for field in fields:
        value = raw.get(field.name)
        if field.canonical is None or field.convert is None or value is None:
            continue
        target = prefix + field.canonical
        if field.name != field.canonical:
            log.add(target, FixKind.RENAMED, field.name, field.canonical)
        converted = field.convert(value, target, log)
        if converted is not None:
            canonical[field.canonical] = converted
    return canonical


def records(fields: Sequence[LocalField]) -> Converter:
    """A converter for an array of local records (e.g. encumbrances), fixes named ``field.<i>.<name>``."""

    def convert(value: Any, field: str, log: FixLog) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            raise ValidationError(field, "type", f"is a list of records, got {type(value).__name__}")
        return [convert_fields(fields, element, f"{field}.{index}.", log) for index, element in enumerate(value)]

    return convert


def record_schema(fields: Sequence[LocalField], name: str, doc: str) -> dict[str, Any]:
    """An Avro record of ``fields`` (nullable strings unless a field says otherwise)."""
    return {"type": "record", "name": name, "doc": doc, "fields": [f.avro() for f in fields]}


class MappedDialect(Dialect):
    """A dialect given as :class:`LocalField` s and an optional :data:`Hook`."""

    def __init__(self, name: str, item: DataItem, description: str, fields: Sequence[LocalField],
                 hook: Hook | None = None) -> None:
        self.name = name
        self.item = item
        self.description = description
        self.fields = tuple(fields)
        self._hook = hook
        self._schema = record_schema(self.fields, pascal_case(item.name), description)
        self._schema["namespace"] = "gov.govbus.local." + name.replace("-", "_")

    @property
    def schema(self) -> dict[str, Any]:
        return dict(self._schema)

    def topic(self, prefix: str = DEFAULT_PREFIX) -> str:
        return local_topic(self.department, self.item.name, self.name, prefix)

    def normalise(self, raw: Mapping[str, Any]) -> Normalised:
        log = FixLog()
        canonical = convert_fields(self.fields, raw, "", log)
        if self._hook is not None:
            self._hook(raw, canonical, log)
        record = self.item.validate(canonical)
        left_over: list[Fix] = []
        for field, after in record.items():
            before = canonical.get(field)
            if isinstance(before, str) and before != after:
                left_over.extend(classify_change(field, before, after, field in self.item.identifier_fields))
        return Normalised(record, log.fixes + tuple(left_over))


def route_identifier(local: str, kind_field: str, targets: Mapping[str, tuple[str, Converter]]) -> Hook:
    """A hook for one local identifier field holding either kind of identifier (纳税人识别号, 证件号):
    ``targets`` maps the record's kind (``canonical[kind_field]``) to the canonical field and its converter."""

    def hook(raw: Mapping[str, Any], canonical: dict[str, Any], log: FixLog) -> None:
        value = raw.get(local)
        kind = canonical.get(kind_field)
        if value is None or not isinstance(kind, str) or kind not in targets:
            return
        target, convert = targets[kind]
        log.add(target, FixKind.RENAMED, local, target)
        converted = convert(value, target, log)
        if converted is not None:
            canonical[target] = converted

    return hook


def hooks(*steps: Hook) -> Hook:
    """One hook running ``steps`` in order."""

    def hook(raw: Mapping[str, Any], canonical: dict[str, Any], log: FixLog) -> None:
        for step in steps:
            step(raw, canonical, log)

    return hook
