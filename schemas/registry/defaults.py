"""Checks that every field default in a parsed Avro schema is a valid value of the field's type.

The ``avro`` parser accepts ``{"type": "int", "default": "x"}``; a reader that later fills
that default in would fail, so the registry rejects such schemas as invalid (42201).
Union defaults may match any branch (the Avro 1.12 rule, as fastavro applies it).
"""

from __future__ import annotations

from typing import Any

from avro.schema import (
    ArraySchema,
    EnumSchema,
    Field,
    FixedSchema,
    MapSchema,
    RecordSchema,
    Schema,
    UnionSchema,
)

from schemas.registry.errors import shown

_INT_RANGE = (-(2**31), 2**31 - 1)
_LONG_RANGE = (-(2**63), 2**63 - 1)


class InvalidDefault(ValueError):
    """A field's default does not match its type; the message names the field."""


def check_defaults(schema: Schema) -> None:
    """Raise :class:`InvalidDefault` for the first field whose default is not a valid value."""
    _walk(schema, path=schema_label(schema), seen=set())


def schema_label(schema: Schema) -> str:
    """A short human name of a schema: its full name if named, else its type."""
    fullname = getattr(schema, "fullname", None)
    return str(fullname) if fullname else str(schema.type)


def _walk(schema: Schema, path: str, seen: set[int]) -> None:
    if id(schema) in seen:
        return
    seen.add(id(schema))
    if isinstance(schema, RecordSchema):
        for field in schema.fields:
            _check_field(field, f"{path}.{field.name}", seen)
    elif isinstance(schema, ArraySchema):
        _walk(schema.items, f"{path}[]", seen)
    elif isinstance(schema, MapSchema):
        _walk(schema.values, f"{path}{{}}", seen)
    elif isinstance(schema, UnionSchema):
        for branch in schema.schemas:
            _walk(branch, path, seen)
    elif isinstance(schema, EnumSchema):
        default = schema.props.get("default")
        if default is not None and default not in schema.symbols:
            raise InvalidDefault(f"enum {schema.fullname}: default {shown(default)} is not one of its symbols")


def _check_field(field: Field, path: str, seen: set[int]) -> None:
    if field.has_default and not is_valid_value(field.type, field.default):
        raise InvalidDefault(
            f"field {path}: default {shown(field.default)} is not a valid {schema_label(field.type)} value"
        )
    _walk(field.type, path, seen)


def is_valid_value(schema: Schema, value: Any) -> bool:
    """Whether ``value`` (as decoded from JSON) is a valid Avro JSON value of ``schema``."""
    kind = schema.type
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("int", "long"):
        low, high = _INT_RANGE if kind == "int" else _LONG_RANGE
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if kind in ("float", "double"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind in ("string", "bytes"):
        return isinstance(value, str)
    return _is_valid_complex(schema, value)


def _is_valid_complex(schema: Schema, value: Any) -> bool:
    if isinstance(schema, FixedSchema):
        return isinstance(value, str) and len(value) == schema.size
    if isinstance(schema, EnumSchema):
        return isinstance(value, str) and value in schema.symbols
    if isinstance(schema, ArraySchema):
        return isinstance(value, list) and all(is_valid_value(schema.items, item) for item in value)
    if isinstance(schema, MapSchema):
        return isinstance(value, dict) and all(is_valid_value(schema.values, v) for v in value.values())
    if isinstance(schema, UnionSchema):
        return any(is_valid_value(branch, value) for branch in schema.schemas)
    if isinstance(schema, RecordSchema):
        return isinstance(value, dict) and all(_record_field_ok(field, value) for field in schema.fields)
    return False


def _record_field_ok(field: Field, value: dict[str, Any]) -> bool:
    if field.name in value:
        return is_valid_value(field.type, value[field.name])
    return bool(field.has_default)
