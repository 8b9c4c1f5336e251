"""Every field of every item is classified, personal or not: the loader refuses an item that leaves a field
unclassified, names one the schema lacks, or calls a person's identifier not personal; and field paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from catalogue_copies import Edit, copy_catalogue, edit, refused

from schemas.catalogue import load_catalogue
from schemas.catalogue.classification import containers_of, leaf_paths, top_field

ESTATE = "real_estate_registration"


@pytest.fixture
def copy_dir(tmp_path: Path) -> Path:
    return copy_catalogue(tmp_path)


def _encumbrance(schema: dict[str, Any]) -> dict[str, Any]:
    field = next(f for f in schema["fields"] if f["name"] == "encumbrances")
    record: dict[str, Any] = field["type"]["items"]
    return record


PHONE = {"name": "owner_phone", "type": ["null", "string"], "default": None, "doc": "Holder's phone."}
HOLDER_PHONE = {"name": "holder_phone", "type": ["null", "string"], "default": None, "doc": "Holder's phone."}


@pytest.mark.parametrize(
    ("change", "unclassified"),
    [
        (lambda s: s["fields"].append(PHONE), "owner_phone"),
        (lambda s: _encumbrance(s)["fields"].append(HOLDER_PHONE), "encumbrances[].holder_phone"),
    ],
)
def test_a_field_added_to_the_schema_is_refused_until_it_is_classified(
        copy_dir: Path, change: Edit, unclassified: str) -> None:
    edit(copy_dir / f"{ESTATE}.avsc", change)
    message = refused(copy_dir)
    assert f"{ESTATE}.json: {ESTATE}: field(s) not classified: {unclassified};" in message
    assert "add each to personal_fields with its masking (resident_id, name, phone, address, full)" in message
    assert "else to not_personal_fields" in message

    edit(copy_dir / f"{ESTATE}.json", lambda m: m["personal_fields"].update({unclassified: "phone"}))
    assert load_catalogue(copy_dir).get(ESTATE).personal_fields[unclassified] == "phone"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda m: m["not_personal_fields"].append("parking_space"),
         "not_personal_fields names fields the schema does not have: parking_space (field paths: certificate_number,"),
        (lambda m: m["personal_fields"].update({"encumbrances[].holder_name": "name"}),
         "personal_fields names fields the schema does not have: encumbrances[].holder_name"),
        (lambda m: m["not_personal_fields"].append("encumbrances"),
         "not_personal_fields names encumbrances, which hold(s) records: classify the fields inside instead "
         "(encumbrances[].kind, encumbrances[].holder,"),
        (lambda m: m["not_personal_fields"].append("owner_name"),
         "owner_name is in both personal_fields and not_personal_fields"),
        (lambda m: m["not_personal_fields"].append("status"), "not_personal_fields lists status more than once"),
        (lambda m: m["not_personal_fields"].remove("encumbrances[].kind"),
         "field(s) not classified: encumbrances[].kind;"),
        (lambda m: (m["personal_fields"].pop("owner_resident_id"),
                    m["not_personal_fields"].append("owner_resident_id")),
         "owner_resident_id holds a resident_id, which identifies a person, so it must be personal: move it from "
         'not_personal_fields to personal_fields as "owner_resident_id": "resident_id"'),
    ],
)
def test_a_wrong_classification_is_refused_naming_the_item_and_the_field(
        copy_dir: Path, change: Edit, words: str) -> None:
    edit(copy_dir / f"{ESTATE}.json", change)
    message = refused(copy_dir)
    assert f"{ESTATE}.json: {ESTATE}: " in message
    assert words in message


def test_field_paths_of_nested_records_arrays_and_unions() -> None:
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "a", "type": "string"},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "owner", "type": ["null", {"type": "record", "name": "Owner", "fields": [
            {"name": "name", "type": "string"},
            {"name": "phones", "type": {"type": "array", "items": {"type": "record", "name": "Phone", "fields": [
                {"name": "number", "type": "string"}]}}}]}]},
        {"name": "previous_owner", "type": ["null", "Owner"], "default": None},
        {"name": "grid", "type": {"type": "array", "items": {"type": "array", "items": {
            "type": "record", "name": "Cell", "fields": [{"name": "v", "type": "int"}]}}}},
    ]}
    paths = leaf_paths(schema)
    assert paths == ["a", "tags", "owner.name", "owner.phones[].number", "previous_owner.name",
                     "previous_owner.phones[].number", "grid[][].v"]
    assert containers_of(paths) == {"owner", "owner.phones", "owner.phones[]", "previous_owner",
                                    "previous_owner.phones", "previous_owner.phones[]", "grid", "grid[]", "grid[][]"}
    assert [top_field(p) for p in paths] == ["a", "tags", "owner", "owner", "previous_owner", "previous_owner", "grid"]
