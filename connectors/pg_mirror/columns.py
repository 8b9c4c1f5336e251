"""From an Avro record schema to PostgreSQL columns, and from decoded Avro values to column values.

=====================================================  ======================  =========
Avro                                                   PostgreSQL              nullable
=====================================================  ======================  =========
``string`` (also ``uuid``)                             ``text``                no
``int``, ``long``                                      ``bigint``              no
``boolean``                                            ``boolean``             no
``float``, ``double``                                  ``double precision``    no
``bytes``, ``fixed``                                   ``bytea``               no
``decimal`` (logical)                                  ``numeric``             no
``date`` (logical)                                     ``date``                no
``timestamp-millis``, ``timestamp-micros``             ``timestamptz``         no
``local-timestamp-millis``, ``local-timestamp-micros``  ``timestamp``           no
``time-millis``, ``time-micros``                       ``time``                no
``enum``                                               ``text``                no
``array``, ``map``, ``record``                         ``jsonb``               no
``["null", T]``                                        as ``T``                yes
a union of two or more non-null types                  ``jsonb``               as its null
=====================================================  ======================  =========

A personal field a subscription's plan masks is a ``text`` column whatever its Avro type (the
mask is text: ``张*``, ``******``). Key columns are never nullable (the catalogue forbids nullable
keys). A field's Avro default becomes the column default when the column is added to an existing
table, so the rows already there read as an Avro reader with the new schema would read them.

PostgreSQL cannot store a NUL character in ``text`` or ``jsonb``, nor ``NaN`` or ``Infinity`` in
``jsonb``. The catalogue refuses control characters in text fields, but an event written before
that rule, or by another writer, must not stop every mirror of its item: a NUL is stored as
U+FFFD (the replacement character) and a non-finite number in ``jsonb`` as the string ``"NaN"``,
``"Infinity"`` or ``"-Infinity"`` (a ``double precision`` column keeps it as it is).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import re
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from govbus.exceptions import ConfigurationError

TEXT, BIGINT, BOOLEAN, DOUBLE, BYTEA = "text", "bigint", "boolean", "double precision", "bytea"
NUMERIC, DATE, TIMESTAMPTZ, TIMESTAMP, TIME, JSONB = "numeric", "date", "timestamptz", "timestamp", "time", "jsonb"

_PRIMITIVES = {"string": TEXT, "int": BIGINT, "long": BIGINT, "boolean": BOOLEAN, "float": DOUBLE,
               "double": DOUBLE, "bytes": BYTEA}
_LOGICAL = {"date": DATE, "timestamp-millis": TIMESTAMPTZ, "timestamp-micros": TIMESTAMPTZ,
            "local-timestamp-millis": TIMESTAMP, "local-timestamp-micros": TIMESTAMP,
            "time-millis": TIME, "time-micros": TIME, "decimal": NUMERIC, "uuid": TEXT}
_COMPLEX = {"enum": TEXT, "fixed": BYTEA, "array": JSONB, "map": JSONB, "record": JSONB}

UDT_NAMES = {"text": TEXT, "int8": BIGINT, "bool": BOOLEAN, "float8": DOUBLE, "bytea": BYTEA, "numeric": NUMERIC,
             "date": DATE, "timestamptz": TIMESTAMPTZ, "timestamp": TIMESTAMP, "time": TIME, "jsonb": JSONB}
"""``information_schema.columns.udt_name`` -> the type names used here."""

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
NUL, REPLACEMENT = "\x00", "\ufffd"
_NOT_JSONB = ("\\u0000", "NaN", "Infinity")
"""What ``json.dumps`` may write that ``jsonb`` refuses (a false alarm only costs a second, careful pass)."""


@dataclass(frozen=True)
class Column:
    """One column of a mirrored table, as one writer schema describes it."""

    name: str
    pg_type: str
    nullable: bool
    default: Any = None
    """The column default (a Python value ready for ``psycopg.sql.Literal``), ``None`` for none."""


def check_identifier(name: str, what: str) -> str:
    """``name`` if PostgreSQL can use it unquoted-safe as a table or column name; else ConfigurationError."""
    if not _IDENTIFIER.match(name):
        raise ConfigurationError(f"{what} {name!r} cannot be a PostgreSQL name: use letters, digits and '_' "
                                 "(not starting with a digit), at most 63 characters")
    return name


def pg_type(avro_type: Any) -> tuple[str, bool]:
    """The PostgreSQL type of an (expanded) Avro type, and whether it is nullable."""
    if isinstance(avro_type, list):
        branches = [branch for branch in avro_type if branch != "null"]
        nullable = len(branches) < len(avro_type)
        if len(branches) == 1:
            return pg_type(branches[0])[0], nullable
        return JSONB, nullable
    if isinstance(avro_type, str):
        # a named type the schema did not expand (it should have): its values are records, enums or fixed
        return _PRIMITIVES.get(avro_type, JSONB), avro_type == "null"
    logical = avro_type.get("logicalType")
    if logical in _LOGICAL:
        return _LOGICAL[logical], False
    kind = avro_type.get("type")
    if kind in _COMPLEX:
        return _COMPLEX[kind], False
    return pg_type(kind)


def columns_of(record_schema: Mapping[str, Any], only: Collection[str] | None = None,
               as_text: Collection[str] = ()) -> list[Column]:
    """The columns of an expanded Avro record schema, in field order.

    ``only`` keeps just those fields (a subscription's planned fields); ``as_text`` makes those
    fields ``text`` (the fields a plan masks).
    """
    columns = []
    for field in record_schema["fields"]:
        name = field["name"]
        if only is not None and name not in only:
            continue
        check_identifier(name, "field")
        kind, nullable = pg_type(field["type"])
        if name in as_text:
            kind = TEXT
        default = column_default(field, kind) if "default" in field else None
        columns.append(Column(name, kind, nullable, default))
    return columns


def column_default(field: Mapping[str, Any], kind: str) -> Any:
    """A field's Avro default as the value of a column of type ``kind`` (``None`` when null or unusable)."""
    value = field.get("default")
    if value is None:
        return None
    if kind == JSONB:
        return Jsonb(value, dumps=dumps)
    if kind == DATE and isinstance(value, int):
        return dt.date(1970, 1, 1) + dt.timedelta(days=value)
    if kind == TIMESTAMPTZ and isinstance(value, int):
        unit = _field_logical(field)
        return _EPOCH + (dt.timedelta(microseconds=value) if unit == "timestamp-micros"
                         else dt.timedelta(milliseconds=value))
    if kind == BYTEA and isinstance(value, str):
        return value.encode("latin-1")
    if kind in (TEXT, BIGINT, BOOLEAN, DOUBLE) and isinstance(value, str | int | float | bool):
        return value
    return None


def _field_logical(field: Mapping[str, Any]) -> str | None:
    kind = field["type"]
    if isinstance(kind, list):
        kind = next((b for b in kind if b != "null"), None)
    return kind.get("logicalType") if isinstance(kind, dict) else None


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return storable_text(value.decode("latin-1"))
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def storable_text(value: str) -> str:
    """``value`` with every NUL replaced by U+FFFD: PostgreSQL text cannot hold a NUL."""
    return value.replace(NUL, REPLACEMENT) if NUL in value else value


def _storable_json(value: Any) -> Any:
    """``value`` with what ``jsonb`` refuses replaced: NULs in strings and keys, non-finite numbers."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value).replace("inf", "Infinity").replace("nan", "NaN")
    if isinstance(value, dict):
        return {storable_text(str(k)): _storable_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable_json(item) for item in value]
    return value


def dumps(value: Any) -> str:
    """JSON for ``jsonb`` columns: dates and timestamps as ISO 8601, decimals and uuids as strings; what ``jsonb``
    cannot hold replaced (see the module docstring)."""
    text = json.dumps(value, ensure_ascii=False, default=_json_default)
    if any(bad in text for bad in _NOT_JSONB):
        text = json.dumps(_storable_json(value), ensure_ascii=False, default=_json_default, allow_nan=False)
    return text


def adapt(value: Any, kind: str) -> Any:
    """A decoded Avro value (or a mask) ready to be bound to a column of type ``kind``."""
    if value is None:
        return None
    if kind == JSONB:
        return Jsonb(value, dumps=dumps)
    if isinstance(value, str):
        return storable_text(value)
    if kind == TEXT:
        if isinstance(value, dt.date | dt.datetime | dt.time):
            return value.isoformat()
        return dumps(value) if isinstance(value, dict | list) else storable_text(str(value))
    if kind == DOUBLE and isinstance(value, int):
        return float(value)
    return value


def widening(existing: str, wanted: str) -> str | None:
    """The type to change a column of type ``existing`` to so that it holds ``wanted`` values, or ``None``
    when no change keeps the rows it has: int and long promoted to float or double (as Avro allows)
    become ``double precision``; any type becomes ``text`` or ``jsonb``."""
    if (existing, wanted) == (BIGINT, DOUBLE) or wanted in (TEXT, JSONB):
        return wanted
    return None


def holds(existing: str, wanted: str) -> bool:
    """Whether a column of type ``existing`` can store values meant for a ``wanted`` column unchanged."""
    return existing == wanted or existing in (TEXT, JSONB)
