"""A readable listing of an Avro record schema's fields: what ``govbus catalogue show`` prints and the AsyncAPI
page's payload tables hold.

    schema_fields(item.record_schema)   # [("uscc", "string", "Unified social credit code"), ...,
                                        #  ("encumbrances[].kind", "enum Kind {MORTGAGE, ...}", "...")]
"""

from __future__ import annotations

from typing import Any


def schema_fields(schema: dict[str, Any], prefix: str = "") -> list[tuple[str, str, str]]:
    """(dotted name, type, doc) of every field, nested record fields after their parent."""
    rows: list[tuple[str, str, str]] = []
    for field in schema["fields"]:
        name = prefix + field["name"]
        rows.append((name, type_text(field["type"]), field.get("doc", "")))
        nested = _nested_record(field["type"])
        if nested is not None:
            rows.extend(schema_fields(nested, name + "[]." if _is_array(field["type"]) else name + "."))
    return rows


def type_text(avro_type: Any) -> str:
    """A short reading of an Avro type: ``string``, ``null | date``, ``enum Status {A, B}``, ``array<X>``."""
    if isinstance(avro_type, str):
        return avro_type
    if isinstance(avro_type, list):
        return " | ".join(type_text(branch) for branch in avro_type)
    kind = avro_type["type"]
    if "logicalType" in avro_type:
        return str(avro_type["logicalType"])
    if kind == "enum":
        return f"enum {avro_type['name']} {{{', '.join(avro_type['symbols'])}}}"
    if kind == "array":
        return f"array<{type_text(avro_type['items'])}>"
    if kind == "record":
        return f"record {avro_type['name']}"
    return str(kind)


def _is_array(avro_type: Any) -> bool:
    return isinstance(avro_type, dict) and avro_type.get("type") == "array"


def _nested_record(avro_type: Any) -> dict[str, Any] | None:
    if isinstance(avro_type, list):
        found = [r for r in (_nested_record(b) for b in avro_type) if r is not None]
        return found[0] if found else None
    if isinstance(avro_type, dict):
        if avro_type.get("type") == "record":
            return avro_type
        if avro_type.get("type") == "array":
            return _nested_record(avro_type["items"])
    return None
