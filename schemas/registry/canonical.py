"""Parsing an Avro schema, its canonical form and its fingerprint.

The canonical form is the schema parsed by ``avro`` and written back as compact JSON with a
fixed key order (``type``, ``name``, ``namespace``, ``doc``, ``aliases``, ``fields``, ...; other
keys sorted). Unlike Avro's Parsing Canonical Form it keeps ``doc``, ``default``, ``aliases``,
``order``, logical types and custom properties, because defaults and aliases decide
compatibility. Two texts that differ only in whitespace, key order, ``"int"`` versus
``{"type": "int"}`` or ``"name": "a.B"`` versus ``"name": "B", "namespace": "a"`` have the same
canonical form, hence the same fingerprint and the same schema id.

Schema references (named types defined in other subjects) are passed in as the canonical
texts of the referenced schemas, in dependency order; their names are known while parsing and
written as plain name references in the canonical form.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from avro.errors import AvroWarning
from avro.name import Names
from avro.schema import ArraySchema, MapSchema, NamedSchema, RecordSchema, Schema, UnionSchema, make_avsc_object

from schemas.registry.defaults import InvalidDefault, check_defaults
from schemas.registry.errors import InvalidSchema, SchemaTooLarge

_SCHEMA_TYPES = {
    "null",
    "boolean",
    "int",
    "long",
    "float",
    "double",
    "bytes",
    "string",
    "record",
    "enum",
    "fixed",
    "array",
    "map",
    "union",
}
MAX_SCHEMA_BYTES = 400 * 1024  # JSON-escaped twice it still fits a 1 MB Kafka record
_SCHEMA_KEYS = ("type", "name", "namespace", "doc", "aliases", "fields", "symbols", "items", "values", "size")
_FIELD_KEYS = ("name", "type", "doc", "default", "order", "aliases")


@dataclass(frozen=True)
class Reference:
    """A named type taken from another subject's version."""

    name: str
    subject: str
    version: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "subject": self.subject, "version": self.version}


@dataclass(frozen=True)
class ParsedSchema:
    """A valid Avro schema with its canonical text; ``avro`` is the parsed object."""

    canonical: str
    references: tuple[Reference, ...] = ()
    dependencies: tuple[str, ...] = ()
    avro: Schema | None = field(default=None, compare=False, repr=False)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.canonical, self.references)


def fingerprint(canonical: str, references: Iterable[Reference] = ()) -> str:
    """SHA-256 of the canonical text and its references: equal schemas, equal fingerprints."""
    refs = json.dumps([r.to_json() for r in references], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{canonical}\x00{refs}".encode()).hexdigest()


def parse_schema(text: str, references: Sequence[Reference] = (), dependencies: Sequence[str] = ()) -> ParsedSchema:
    """Parse and validate ``text``; raise :class:`InvalidSchema` (42201) saying what is wrong."""
    data = _load_json(text)
    names = Names(validate_names=True)
    for dependency in dependencies:
        _make(json.loads(dependency), names, what="a referenced schema")
    known = dict(names.names)
    schema = _make(data, names, what="the schema")
    _check_types(schema)
    try:
        check_defaults(schema)
    except InvalidDefault as exc:
        raise InvalidSchema(f"Invalid Avro schema: {exc}") from None
    return ParsedSchema(
        canonical=_canonical_text(schema, known),
        references=tuple(references),
        dependencies=tuple(dependencies),
        avro=schema,
    )


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InvalidSchema(f"Invalid schema: the schema is not valid JSON ({exc}).") from None


def _make(data: Any, names: Names, what: str) -> Schema:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AvroWarning)
            return make_avsc_object(data, names)
    except RecursionError:
        raise InvalidSchema(f"Invalid Avro schema: {what} is nested too deeply.") from None
    except Exception as exc:  # the avro parser raises many types for bad input
        raise InvalidSchema(f"Invalid Avro schema: {what} is not valid Avro: {exc}") from None


def _check_types(schema: Schema) -> None:
    """Refuse protocol-only types (``error``, ``error_union``) the parser lets through."""
    pending, seen = [schema], set()
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.type not in _SCHEMA_TYPES:
            raise InvalidSchema(f"Invalid Avro schema: type {node.type!r} belongs in Avro protocols, not schemas.")
        if isinstance(node, RecordSchema):
            pending += [f.type for f in node.fields]
        elif isinstance(node, ArraySchema):
            pending.append(node.items)
        elif isinstance(node, MapSchema):
            pending.append(node.values)
        elif isinstance(node, UnionSchema):
            pending += node.schemas


def _canonical_text(schema: Schema, known: dict[str, NamedSchema]) -> str:
    names = Names(validate_names=True)
    names.names = dict(known)
    ordered = _order_schema(schema.to_json(names))
    try:
        text = json.dumps(ordered, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError as exc:  # NaN or Infinity in a default or property
        raise InvalidSchema(f"Invalid Avro schema: {exc}") from None
    try:
        size = len(text.encode())
    except UnicodeEncodeError:  # a JSON escape \ud800 to \udfff without its pair: no character, no UTF-8
        raise InvalidSchema("Invalid Avro schema: it holds a lone UTF-16 surrogate (an escape from \\ud800 to "
                            "\\udfff without its pair), which is not a character; write the character itself") from None
    if size > MAX_SCHEMA_BYTES:
        raise SchemaTooLarge(f"The schema is {size} bytes in canonical form; the limit is {MAX_SCHEMA_BYTES}.")
    return text


def _order_schema(node: Any) -> Any:
    """Reorder a schema node's keys (recursively) so the output does not depend on input order."""
    if isinstance(node, list):
        return [_order_schema(branch) for branch in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key in _ordered_keys(node, _SCHEMA_KEYS):
        value = node[key]
        if key == "fields":
            out[key] = [_order_field(f) for f in value]
        elif key in ("type", "items", "values"):
            out[key] = _order_schema(value)
        else:
            out[key] = _sorted_value(value)
    return out


def _order_field(node: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in _ordered_keys(node, _FIELD_KEYS):
        out[key] = _order_schema(node[key]) if key == "type" else _sorted_value(node[key])
    return out


def _ordered_keys(node: dict[str, Any], preferred: tuple[str, ...]) -> list[str]:
    first = [key for key in preferred if key in node]
    return first + sorted(key for key in node if key not in preferred)


def _sorted_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted_value(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_value(item) for item in value]
    return value
