"""A bad catalogue file is refused at load with a message naming the file and the problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from catalogue_copies import Edit, copy_catalogue, edit, refused

from schemas.catalogue import load_catalogue

ITEM = "enterprise_registration"


@pytest.fixture
def copy_dir(tmp_path: Path) -> Path:
    return copy_catalogue(tmp_path)


def test_an_unmodified_copy_loads(copy_dir: Path) -> None:
    assert load_catalogue(copy_dir).names() == load_catalogue().names()


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda m: m.update(sharing_class="shared"), "sharing_class: Input should be 'unconditional'"),
        (lambda m: m.update(department="commerce"), "department: Input should be"),
        (lambda m: m.update(code="ABC"), "code: String should match pattern"),
        (lambda m: m.pop("legal_basis"), "legal_basis: Field required"),
        (lambda m: m.update(key_fields=[]), "key_fields: List should have at least 1 item"),
        (lambda m: m.update(colour="blue"), "colour: Extra inputs are not permitted"),
        (lambda m: m.update(personal_fields={"legal_representative": "blur"}), "personal_fields.legal_representative"),
        (lambda m: m.update(sharing_class="conditional"), "a conditional item needs sharing_conditions"),
        (lambda m: m.update(sharing_class="not_shared", open_to_public=True), "cannot be open_to_public"),
        (lambda m: m.update(key_fields=["uscc", "uscc"]), "key_fields repeat a field"),
    ],
)
def test_invalid_metadata_is_named(copy_dir: Path, change: Edit, words: str) -> None:
    edit(copy_dir / f"{ITEM}.json", change)
    message = refused(copy_dir)
    assert f"{ITEM}.json: invalid metadata" in message
    assert words in message


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda m: m.update(key_fields=["registration_number"]),
         "key_fields names fields the schema does not have: registration_number"),
        (lambda m: m.update(personal_fields={"phone": "phone"}),
         "personal_fields names fields the schema does not have: phone"),
        (lambda m: m.update(identifier_fields={"legal_person_id": "resident_id"}),
         "identifier_fields names fields the schema does not have: legal_person_id"),
        (lambda m: m.update(key_fields=["established_on"]), "key field 'established_on' must be a non-null string"),
        (lambda m: m.update(key_fields=["status_changed_on"]), "key field 'status_changed_on' must be a non-null"),
        (lambda m: m.update(identifier_fields={"registered_capital_cents": "uscc"}),
         "identifier field 'registered_capital_cents' must be a string"),
        (lambda m: m.update(item="enterprise"),
         "item is 'enterprise' but the file is named enterprise_registration.json"),
        (lambda m: m.update(department="taxation"), "namespace is 'gov.govbus.market_regulation', expected "
                                                    "'gov.govbus.taxation'"),
    ],
)
def test_metadata_disagreeing_with_the_schema_is_named(copy_dir: Path, change: Edit, words: str) -> None:
    edit(copy_dir / f"{ITEM}.json", change)
    message = refused(copy_dir)
    assert f"{ITEM}.json" in message or f"{ITEM}.avsc" in message
    assert words in message


def test_a_catalogue_code_used_twice_names_both_items(copy_dir: Path) -> None:
    edit(copy_dir / f"{ITEM}.json", lambda m: m.update(code="102002/000001"))
    message = refused(copy_dir)
    assert "catalogue code 102002/000001 is also used by" in message
    assert "enterprise_registration" in message and "social_organisation_registration" in message


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda s: s["fields"][1].pop("doc"), "fields without a doc: name"),
        (lambda s: s["fields"][0].update(type="strin"),
         "the schema is not valid Avro: gov.govbus.market_regulation.strin"),
        (lambda s: s["fields"][8].update(default="LIMITED"), "defaults that do not match their type (for a union, its "
                                                             'first branch): enterprise_type = "LIMITED"'),
        (lambda s: s["fields"][4].update(default="0"), "Default value <0> must match schema type: long"),
        (lambda s: s.update(name="Enterprise"), "record name is 'Enterprise', expected 'EnterpriseRegistration'"),
        (lambda s: s.update(type="enum"), "must be an Avro record"),
    ],
)
def test_invalid_schema_is_named(copy_dir: Path, change: Edit, words: str) -> None:
    edit(copy_dir / f"{ITEM}.avsc", change)
    message = refused(copy_dir)
    assert f"{ITEM}.avsc" in message
    assert words in message


def test_invalid_json_is_named(copy_dir: Path) -> None:
    (copy_dir / f"{ITEM}.json").write_text('{"item": "enterprise_registration",', encoding="utf-8")
    message = refused(copy_dir)
    assert f"{ITEM}.json: not valid JSON" in message


def test_missing_and_orphan_files_are_named(copy_dir: Path, tmp_path: Path) -> None:
    (copy_dir / f"{ITEM}.avsc").unlink()
    assert f"{ITEM}.json: no schema {ITEM}.avsc beside it" in refused(copy_dir)

    other = tmp_path / "other"
    shutil.copytree(copy_dir, other)
    (other / "credit_record.json").unlink()
    assert "credit_record.avsc: schema without metadata" in refused(other)


def test_an_item_without_a_model_is_named(copy_dir: Path) -> None:
    for suffix in (".json", ".avsc"):
        (copy_dir / f"{ITEM}{suffix}").rename(copy_dir / f"business_licence{suffix}")
    edit(copy_dir / "business_licence.json", lambda m: m.update(item="business_licence"))
    edit(copy_dir / "business_licence.avsc", lambda s: s.update(name="BusinessLicence"))
    assert "no pydantic model for 'business_licence'" in refused(copy_dir)


def test_a_directory_that_is_not_a_catalogue(tmp_path: Path) -> None:
    assert "not a catalogue directory" in refused(tmp_path / "missing")
    assert "no data items" in refused(tmp_path)
