"""Canonical form, fingerprints and schema validation."""

from __future__ import annotations

import json

import pytest

from schemas.registry.canonical import MAX_SCHEMA_BYTES, Reference, parse_schema
from schemas.registry.errors import InvalidSchema, SchemaTooLarge

PERSON = {
    "type": "record",
    "name": "Person",
    "namespace": "gov.people",
    "doc": "A person",
    "fields": [
        {"name": "id", "type": "long", "doc": "identifier"},
        {"name": "nickname", "type": ["null", "string"], "default": None, "aliases": ["alias"]},
        {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["A", "B"], "default": "A"}},
        {"name": "born", "type": {"type": "int", "logicalType": "date"}, "custom.prop": {"z": 1, "a": 2}},
    ],
}


def test_same_schema_written_differently_has_the_same_canonical_form() -> None:
    shuffled = {
        "fields": [
            {"type": {"type": "long"}, "doc": "identifier", "name": "id"},
            {"default": None, "aliases": ["alias"], "type": ["null", {"type": "string"}], "name": "nickname"},
            {
                "type": {"symbols": ["A", "B"], "default": "A", "type": "enum", "name": "gov.people.Status"},
                "name": "status",
            },
            {"custom.prop": {"a": 2, "z": 1}, "type": {"logicalType": "date", "type": "int"}, "name": "born"},
        ],
        "doc": "A person",
        "name": "gov.people.Person",
        "type": "record",
    }
    a = parse_schema(json.dumps(PERSON))
    b = parse_schema(json.dumps(shuffled, indent=4))
    assert a.canonical == b.canonical
    assert a.fingerprint == b.fingerprint


def test_canonical_form_keeps_what_matters_for_compatibility() -> None:
    canonical = json.loads(parse_schema(json.dumps(PERSON)).canonical)
    assert canonical["doc"] == "A person"
    nickname = canonical["fields"][1]
    assert nickname["default"] is None and nickname["aliases"] == ["alias"]
    assert canonical["fields"][2]["type"]["default"] == "A"
    assert canonical["fields"][3]["type"] == {"type": "int", "logicalType": "date"}
    assert canonical["fields"][3]["custom.prop"] == {"a": 2, "z": 1}


def test_canonical_form_is_compact_with_a_fixed_key_order() -> None:
    text = parse_schema('{"fields":[{"type":"int","name":"x"}],"name":"R","type":"record"}').canonical
    assert text == '{"type":"record","name":"R","fields":[{"name":"x","type":"int"}]}'


def test_different_defaults_give_different_fingerprints() -> None:
    with_default = parse_schema('{"type":"record","name":"R","fields":[{"name":"x","type":"int","default":1}]}')
    other_default = parse_schema('{"type":"record","name":"R","fields":[{"name":"x","type":"int","default":2}]}')
    without = parse_schema('{"type":"record","name":"R","fields":[{"name":"x","type":"int"}]}')
    assert len({with_default.fingerprint, other_default.fingerprint, without.fingerprint}) == 3


def test_references_are_part_of_the_identity_and_written_by_name() -> None:
    address = parse_schema('{"type":"record","name":"gov.Address","fields":[{"name":"street","type":"string"}]}')
    text = '{"type":"record","name":"gov.Home","fields":[{"name":"address","type":"gov.Address"}]}'
    home_v1 = parse_schema(text, [Reference("gov.Address", "address", 1)], [address.canonical])
    home_v2 = parse_schema(text, [Reference("gov.Address", "address", 2)], [address.canonical])
    assert '"type":"gov.Address"' in home_v1.canonical
    assert home_v1.canonical == home_v2.canonical
    assert home_v1.fingerprint != home_v2.fingerprint


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "not valid JSON"),
        ("[" * 100_000, "not valid JSON"),
        ('{"type":"recrod","name":"R","fields":[]}', "not valid Avro"),
        ('{"type":"record","name":"R","fields":[{"name":"a","type":"nosuchtype"}]}', "not valid Avro"),
        (
            '{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"int"}]}',
            "not valid Avro",
        ),
        ('{"type":"enum","name":"E","symbols":["A","A"]}', "not valid Avro"),
        ('{"type":"fixed","name":"F","size":-1}', "not valid Avro"),
        ("12", "not valid Avro"),
        ('{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"x"}]}', "default 'x'"),
        ('{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":2147483648}]}', "R.a"),
        ('{"type":"record","name":"R","fields":[{"name":"a","type":["null","int"],"default":"x"}]}', "R.a"),
        (
            '{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"fixed","name":"F","size":2},'
            '"default":"abc"}]}',
            "R.a",
        ),
        ('{"type":"record","name":"R","fields":[{"name":"a","type":"double","default":NaN}]}', "Invalid Avro"),
    ],
)
def test_invalid_schemas_are_rejected_with_a_reason(text: str, expected: str) -> None:
    with pytest.raises(InvalidSchema) as caught:
        parse_schema(text)
    assert caught.value.error_code == 42201
    assert expected in caught.value.message


def test_valid_defaults_of_every_kind_are_accepted() -> None:
    fields = [
        {"name": "n", "type": "null", "default": None},
        {"name": "b", "type": "boolean", "default": True},
        {"name": "l", "type": "long", "default": 2**40},
        {"name": "d", "type": "double", "default": 1},
        {"name": "by", "type": "bytes", "default": "\u00ff"},
        {"name": "f", "type": {"type": "fixed", "name": "F", "size": 2}, "default": "ab"},
        {"name": "a", "type": {"type": "array", "items": "int"}, "default": [1, 2]},
        {"name": "m", "type": {"type": "map", "values": "string"}, "default": {"k": "v"}},
        {"name": "u", "type": ["string", "null"], "default": None},
        {
            "name": "r",
            "type": {"type": "record", "name": "In", "fields": [{"name": "x", "type": "int"}]},
            "default": {"x": 1},
        },
    ]
    parse_schema(json.dumps({"type": "record", "name": "R", "fields": fields}))


@pytest.mark.parametrize(
    "text",
    [
        '{"type":"error","name":"Oops","fields":[{"name":"a","type":"int"}]}',
        '{"type":"record","name":"R","fields":[{"name":"e","type":{"type":"error","name":"E","fields":[]}}]}',
    ],
)
def test_protocol_only_types_are_refused(text: str) -> None:
    with pytest.raises(InvalidSchema) as caught:
        parse_schema(text)
    assert "protocols" in caught.value.message


def test_schemas_too_large_for_a_kafka_record_are_refused() -> None:
    huge = {"type": "record", "name": "R", "doc": '"' * MAX_SCHEMA_BYTES, "fields": [{"name": "a", "type": "int"}]}
    with pytest.raises(SchemaTooLarge) as caught:
        parse_schema(json.dumps(huge))
    assert caught.value.error_code == 42209 and str(MAX_SCHEMA_BYTES) in caught.value.message


def test_a_reference_to_an_unknown_name_is_invalid() -> None:
    with pytest.raises(InvalidSchema):
        parse_schema('{"type":"record","name":"R","fields":[{"name":"a","type":"gov.Address"}]}')
