"""Turning HTTP inputs (path parts, query flags, JSON bodies) into typed values.

Anything malformed becomes the matching REST error here, so bad input never reaches the
handlers' logic (and never becomes a 500).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from schemas.registry.canonical import Reference
from schemas.registry.errors import BadRequest, InvalidSchema, InvalidVersion, SchemaNotFound, shown

Latest = Literal["latest"]
VersionSpec = int | Latest
_MAX_INT32 = 2**31 - 1


@dataclass(frozen=True)
class SchemaRequest:
    """The part of a register / look-up / compatibility body the registry uses."""

    schema: str
    references: tuple[Reference, ...] = ()


def parse_version(text: str) -> VersionSpec:
    """``"latest"`` (or ``-1``) or a version number in [1, 2^31-1]; else 42202."""
    if text == "latest" or text == "-1":
        return "latest"
    if _is_number(text) and 1 <= int(text) <= _MAX_INT32:
        return int(text)
    raise InvalidVersion(text)


def _is_number(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` also accepts e.g. Arabic-Indic digits)."""
    return text.isascii() and text.isdigit() and len(text) <= 12


def parse_schema_id(text: str) -> int:
    """A schema id from the path; an id that cannot exist is simply not found (40403)."""
    if _is_number(text) and int(text) <= _MAX_INT32:
        return int(text)
    raise SchemaNotFound(f"Schema {text} not found")


def flag(query: Mapping[str, str], name: str) -> bool:
    """A boolean query parameter: ``true`` in any case is true, anything else false."""
    return query.get(name, "").strip().lower() == "true"


def paging(query: Mapping[str, str]) -> tuple[int, int]:
    """``offset`` and ``limit`` query parameters (limit -1 = all); unparsable values are ignored."""
    return _int_param(query, "offset", 0, minimum=0), _int_param(query, "limit", -1, minimum=-1)


def page(items: list[Any], query: Mapping[str, str]) -> list[Any]:
    offset, limit = paging(query)
    return items[offset:] if limit < 0 else items[offset : offset + limit]


def _int_param(query: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    try:
        return max(minimum, int(query.get(name, default)))
    except ValueError:
        return default


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or :class:`BadRequest` (400) saying why not."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object, e.g. {\"schema\": \"...\"}.")
    return body


def parse_schema_request(body: dict[str, Any]) -> SchemaRequest:
    """Validate a body carrying a schema; 42201 for anything the registry cannot accept."""
    schema_type = body.get("schemaType") or "AVRO"
    if not isinstance(schema_type, str) or schema_type.upper() != "AVRO":
        raise InvalidSchema(f"Invalid schema type {shown(schema_type)}: only AVRO is supported by govbus.")
    schema = body.get("schema")
    if not isinstance(schema, str) or not schema.strip():
        raise InvalidSchema(
            "Invalid schema: the body needs a \"schema\" field holding the Avro schema as a JSON string."
        )
    for unsupported in ("metadata", "ruleSet"):
        if body.get(unsupported):
            raise InvalidSchema(f"Invalid schema: {unsupported!r} (data contracts) is not supported by govbus.")
    return SchemaRequest(schema, _references(body.get("references")))


def _references(raw: Any) -> tuple[Reference, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidSchema("Invalid schema: \"references\" must be a list of {name, subject, version}.")
    return tuple(_reference(item) for item in raw)


def _reference(item: Any) -> Reference:
    version = _whole_number(item.get("version")) if isinstance(item, dict) else None
    if (
        isinstance(item, dict)
        and isinstance(item.get("name"), str)
        and isinstance(item.get("subject"), str)
        and version is not None
        and 1 <= version <= _MAX_INT32
    ):
        return Reference(item["name"], item["subject"], version)
    raise InvalidSchema(
        f"Invalid schema reference {shown(item)}: each needs a string name and subject and a version >= 1."
    )


def _whole_number(value: Any) -> int | None:
    """A JSON number without a fraction (``2`` or ``2.0``: JSON, and JSON Schema's ``integer``, do not tell them
    apart), else ``None`` (``true`` is no number here)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None
