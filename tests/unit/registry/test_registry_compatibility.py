"""Compatibility judgments (Avro schema resolution) and the reasons given for them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from schemas.registry.canonical import ParsedSchema, parse_schema
from schemas.registry.compatibility import CompatibilityLevel, check_compatibility
from schemas.registry.errors import InvalidCompatibilityLevel


def schema(value: Any) -> ParsedSchema:
    return parse_schema(json.dumps(value))


def record(*fields: dict[str, Any], name: str = "Rec", namespace: str = "gov", **extra: Any) -> ParsedSchema:
    return schema({"type": "record", "name": name, "namespace": namespace, "fields": list(fields), **extra})


def field(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


def reasons(reader: ParsedSchema, writer: ParsedSchema) -> list[str]:
    """Why ``reader`` cannot read data written with ``writer`` (empty if it can)."""
    return check_compatibility(CompatibilityLevel.BACKWARD, reader, [(1, writer)])


PROMOTIONS = [
    ("int", "long"),
    ("int", "float"),
    ("int", "double"),
    ("long", "float"),
    ("long", "double"),
    ("float", "double"),
    ("string", "bytes"),
    ("bytes", "string"),
]


@pytest.mark.parametrize(("written", "read"), PROMOTIONS)
def test_avro_promotions_are_readable(written: str, read: str) -> None:
    assert reasons(record(field("x", read)), record(field("x", written))) == []


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("long", "int"),
        ("float", "long"),
        ("double", "float"),
        ("double", "int"),
        ("int", "boolean"),
        ("string", "int"),
        ("boolean", "string"),
    ],
)
def test_narrowing_or_unrelated_types_are_not_readable(written: str, read: str) -> None:
    found = reasons(record(field("x", read)), record(field("x", written)))
    assert len(found) == 1
    assert "at /fields/x/type" in found[0]
    assert f"reader's {read} cannot read the writer's {written}" in found[0]


def test_added_field_needs_a_default() -> None:
    old = record(field("a", "int"))
    assert reasons(record(field("a", "int"), field("b", "string", default="")), old) == []
    found = reasons(record(field("a", "int"), field("b", "string")), old)
    assert len(found) == 1
    assert "/fields/b" in found[0] and "'b'" in found[0] and "default" in found[0]


def test_removed_field_breaks_readers_that_need_it() -> None:
    old = record(field("a", "int"), field("b", "string"))
    new = record(field("a", "int"))
    assert reasons(reader=new, writer=old) == []  # the new schema ignores b
    forward = check_compatibility(CompatibilityLevel.FORWARD, new, [(3, old)])
    assert len(forward) == 1
    assert "version 3 cannot read data written with the new schema" in forward[0]
    assert "'b'" in forward[0]


def test_enum_symbols() -> None:
    def enum(symbols: list[str], **extra: Any) -> ParsedSchema:
        return record(field("s", {"type": "enum", "name": "Status", "symbols": symbols, **extra}))

    assert reasons(enum(["A", "B", "C"]), enum(["A", "B"])) == []  # reader knows more symbols
    found = reasons(enum(["A"]), enum(["A", "B"]))
    assert len(found) == 1 and "['B']" in found[0] and "/fields/s/type/symbols" in found[0]
    assert reasons(enum(["A", "UNKNOWN"], default="UNKNOWN"), enum(["A", "B"])) == []  # the default absorbs B


def test_unions() -> None:
    assert reasons(record(field("x", ["null", "int"])), record(field("x", "int"))) == []
    assert reasons(record(field("x", ["null", "long"])), record(field("x", ["null", "int"]))) == []
    found = reasons(record(field("x", "int")), record(field("x", ["null", "int"])))
    assert len(found) == 1 and "null" in found[0]
    found = reasons(record(field("x", ["null", "string"])), record(field("x", ["null", "string", "int"])))
    assert len(found) == 1 and "/fields/x/type/2" in found[0] and "no branch" in found[0]


def test_union_branch_records_are_compared_field_by_field() -> None:
    inner_int = {"type": "record", "name": "In", "fields": [field("v", "int")]}
    inner_str = {"type": "record", "name": "In", "fields": [field("v", "string")]}
    found = reasons(record(field("x", ["null", inner_str])), record(field("x", ["null", inner_int])))
    assert len(found) == 1 and "/fields/x/type/1/fields/v/type" in found[0]


def test_field_rename_needs_an_alias() -> None:
    old = record(field("name", "string"))
    assert reasons(record(field("full_name", "string", aliases=["name"])), old) == []
    found = reasons(record(field("full_name", "string")), old)
    assert len(found) == 1 and "'full_name'" in found[0]


def test_named_type_rename_needs_an_alias() -> None:
    old = record(field("a", "int"), name="Person")
    assert reasons(record(field("a", "int"), name="Citizen", aliases=["Person"]), old) == []
    assert reasons(record(field("a", "int"), name="Citizen", aliases=["gov.Person"]), old) == []
    found = reasons(record(field("a", "int"), name="Citizen"), old)
    assert len(found) == 1
    assert "gov.Citizen" in found[0] and "gov.Person" in found[0] and "aliases" in found[0]


def test_enum_rename_needs_an_alias() -> None:
    old = record(field("s", {"type": "enum", "name": "Status", "symbols": ["A"]}))
    new = record(field("s", {"type": "enum", "name": "State", "symbols": ["A"]}))
    found = reasons(new, old)
    assert len(found) == 1 and "/fields/s/type/name" in found[0]


def test_fixed_size_must_match() -> None:
    def fixed(size: int) -> ParsedSchema:
        return record(field("f", {"type": "fixed", "name": "Hash", "size": size}))

    assert reasons(fixed(16), fixed(16)) == []
    found = reasons(fixed(32), fixed(16))
    assert len(found) == 1 and "size 32" in found[0] and "size 16" in found[0] and "/fields/f/type/size" in found[0]


def test_nested_records_report_the_full_path() -> None:
    def person(zip_type: str) -> ParsedSchema:
        address = {"type": "record", "name": "Address", "fields": [field("zip", zip_type)]}
        return record(
            field("address", address), field("tags", {"type": "map", "values": {"type": "array", "items": zip_type}})
        )

    assert reasons(person("long"), person("int")) == []
    found = reasons(person("int"), person("long"))
    assert len(found) == 2
    assert any("/fields/address/type/fields/zip/type" in r for r in found)
    assert any("/fields/tags/type/values/items" in r for r in found)


def test_several_problems_give_several_reasons() -> None:
    old = record(field("a", "long"), field("s", {"type": "enum", "name": "S", "symbols": ["X", "Y"]}))
    new = record(field("a", "int"), field("b", "string"), field("s", {"type": "enum", "name": "S", "symbols": ["X"]}))
    found = reasons(new, old)
    assert len(found) == 3


def test_recursive_schemas_are_handled() -> None:
    def node(*extra: dict[str, Any]) -> ParsedSchema:
        return record(field("value", "int"), field("next", ["null", "Node"]), *extra, name="Node")

    assert reasons(node(field("label", "string", default="")), node()) == []
    assert len(reasons(node(field("label", "string")), node())) == 1


# ---------------------------------------------------------------------------- levels

V_A = record(field("a", "int"))
V_AB_DEFAULT = record(field("a", "int"), field("b", "string", default="x"))
V_AB = record(field("a", "int"), field("b", "string"))


@pytest.mark.parametrize(
    ("level", "history", "candidate", "compatible"),
    [
        ("NONE", [V_A], record(field("z", "boolean")), True),
        ("BACKWARD", [V_A, V_AB_DEFAULT], V_AB, True),  # only the latest is checked
        ("BACKWARD_TRANSITIVE", [V_A, V_AB_DEFAULT], V_AB, False),  # v1 lacks b
        ("FORWARD", [V_AB, V_AB_DEFAULT], V_A, True),  # the latest reader has a default for b
        ("FORWARD_TRANSITIVE", [V_AB, V_AB_DEFAULT], V_A, False),  # the v1 reader needs b
        ("FULL", [V_A], record(field("a", "int"), field("c", "string", default="")), True),
        ("FULL", [V_A], record(field("a", "long")), False),  # v1 cannot read a long
        ("BACKWARD", [V_A], record(field("a", "long")), True),
        ("FULL", [V_A, V_AB_DEFAULT], V_AB, True),
        ("FULL_TRANSITIVE", [V_A, V_AB_DEFAULT], V_AB, False),
    ],
)
def test_levels(level: str, history: list[ParsedSchema], candidate: ParsedSchema, compatible: bool) -> None:
    previous = [(n, s) for n, s in enumerate(history, start=1)]
    found = check_compatibility(CompatibilityLevel.parse(level), candidate, previous)
    assert (found == []) is compatible, found
    assert all(r.startswith(level) for r in found)


def test_transitive_reasons_name_the_failing_version() -> None:
    found = check_compatibility(CompatibilityLevel.BACKWARD_TRANSITIVE, V_AB, [(1, V_A), (2, V_AB_DEFAULT)])
    assert len(found) == 1 and "version 1" in found[0]


def test_no_history_is_always_compatible() -> None:
    assert check_compatibility(CompatibilityLevel.FULL_TRANSITIVE, V_A, []) == []


@pytest.mark.parametrize("text", ["backward", "Full_Transitive", "NONE"])
def test_level_names_are_case_insensitive(text: str) -> None:
    assert CompatibilityLevel.parse(text).value == text.upper()


@pytest.mark.parametrize("value", ["SIDEWAYS", "", None, 3])
def test_unknown_levels_are_refused(value: object) -> None:
    with pytest.raises(InvalidCompatibilityLevel) as caught:
        CompatibilityLevel.parse(value)
    assert caught.value.error_code == 42203 and "BACKWARD_TRANSITIVE" in caught.value.message
