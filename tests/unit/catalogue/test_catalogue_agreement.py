"""The model/schema agreement check finds each kind of disagreement (so its 'all agree' can fail)."""

from __future__ import annotations

import copy
import datetime as dt
from enum import StrEnum
from typing import Any

import pytest
from pydantic import Field

from schemas.catalogue import Catalogue
from schemas.catalogue.agreement import identifier_mismatches, model_mismatches
from schemas.catalogue.model import DataItem
from schemas.catalogue.models.base import CatalogueRecord
from schemas.catalogue.types import DivisionCode, Uscc


class Colour(StrEnum):
    RED = "RED"
    BLUE = "BLUE"


class Small(CatalogueRecord):
    code: Uscc = Field(description="a code")
    day: dt.date = Field(description="a day")
    colour: Colour = Field(description="a colour")
    note: str | None = Field(default=None, description="a note")


SMALL_SCHEMA: dict[str, Any] = {
    "type": "record", "name": "Small", "namespace": "gov.govbus.test",
    "fields": [
        {"name": "code", "type": "string", "doc": "d"},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}, "doc": "d"},
        {"name": "colour", "type": {"type": "enum", "name": "Colour", "symbols": ["RED", "BLUE"]}, "doc": "d"},
        {"name": "note", "type": ["null", "string"], "default": None, "doc": "d"},
    ],
}


def _schema_with(field: str, **changes: Any) -> dict[str, Any]:
    schema = copy.deepcopy(SMALL_SCHEMA)
    for entry in schema["fields"]:
        if entry["name"] == field:
            entry.update(changes)
    return schema


def test_the_reference_pair_agrees() -> None:
    assert model_mismatches(SMALL_SCHEMA, Small) == []


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        (_schema_with("day", type="string"), "day: Avro string needs str, the model has date"),
        (_schema_with("day", type={"type": "long", "logicalType": "timestamp-millis"}),
         "day: Avro long/timestamp-millis"),
        (_schema_with("note", type="string", default="x"), "note: Avro forbids null but the model allows None"),
        (_schema_with("code", type=["null", "string"], default=None), "code: Avro allows null"),
        (_schema_with("colour", type={"type": "enum", "name": "Colour", "symbols": ["BLUE", "RED"]}),
         "colour: enum symbols differ"),
        ({**SMALL_SCHEMA, "fields": [*SMALL_SCHEMA["fields"], {"name": "extra", "type": "int", "doc": "d"}]},
         "extra: in the Avro schema but not in Small"),
        ({**SMALL_SCHEMA, "fields": SMALL_SCHEMA["fields"][:3]}, "note: in Small but not in the Avro schema"),
        ({**SMALL_SCHEMA, "fields": [SMALL_SCHEMA["fields"][i] for i in (1, 0, 2, 3)]}, "field order differs"),
    ],
)
def test_each_disagreement_is_named(schema: dict[str, Any], words: str) -> None:
    problems = model_mismatches(schema, Small)
    assert any(words in problem for problem in problems), problems


def test_a_required_model_field_against_an_avro_default_is_named() -> None:
    class Required(CatalogueRecord):
        note: str | None = Field(description="a note")

    schema = {"type": "record", "name": "R", "fields": [
        {"name": "note", "type": ["null", "string"], "default": None, "doc": "d"}]}
    assert model_mismatches(schema, Required) == [
        "note: the Avro field defaults to None but the model field is required"]


def test_a_field_without_description_is_named() -> None:
    class Bare(CatalogueRecord):
        value: int

    schema = {"type": "record", "name": "Bare", "fields": [{"name": "value", "type": "long", "doc": "d"}]}
    assert model_mismatches(schema, Bare) == ["value: the model field has no description"]


def test_nested_records_are_compared(catalogue: Catalogue) -> None:
    item = catalogue.get("real_estate_registration")
    schema = item.record_schema
    encumbrances = next(f for f in schema["fields"] if f["name"] == "encumbrances")
    encumbrances["type"]["items"]["fields"][0]["type"]["symbols"].append("LEASE")
    problems = model_mismatches(schema, item.model)
    assert len(problems) == 1 and problems[0].startswith("encumbrances[].kind: enum symbols differ")


def test_identifier_markers_must_match_the_metadata(catalogue: Catalogue) -> None:
    item = catalogue.get("enterprise_registration")

    class Unmarked(CatalogueRecord):
        uscc: str = Field(description="not checked")
        division_code: DivisionCode = Field(description="checked")
        other: Uscc = Field(description="checked but not declared")

    unmarked = DataItem(metadata=item.metadata, schema=item.record_schema, model=Unmarked)
    assert identifier_mismatches(unmarked) == [
        "uscc: metadata says uscc but the model field has no uscc type",
        "other: the model checks it as uscc but the metadata does not list it",
    ]
