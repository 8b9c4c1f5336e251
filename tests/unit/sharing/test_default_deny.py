"""Default-deny masking: a field path is in clear only when the catalogue calls it not personal or a grant
unmasks it; a field added to a schema is masked for subscribers and left out of the public feed until the
catalogue classifies it; nested fields (items and profiles) are masked like top-level ones."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from connectors.public_feed.disclosure import public_record
from govbus.exceptions import CatalogueError
from govbus.sharing.authorisation import ProfilePlan, SubscriptionRefused, authorise
from govbus.sharing.model import Grant, Subscription
from govbus.sharing.shaping import PathRules
from schemas.catalogue import Catalogue, load_catalogue
from schemas.catalogue.loader import packaged_items, read_catalogue

NOW = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
CATALOGUE = load_catalogue()
ESTATE = "real_estate_registration"
ESTATE_FIELDS = ["certificate_number", "owner_name", "encumbrances", "status"]
ENCUMBRANCE: dict[str, Any] = {"kind": "MORTGAGE", "holder": "李建国", "registered_on": dt.date(2017, 6, 5),
                               "secured_amount_cents": 150_000_000, "ends_on": None}
TITLE: dict[str, Any] = {
    "certificate_number": "京(2017)朝阳区不动产权第0012345号", "owner_name": "王芳", "status": "VALID",
    "encumbrances": [ENCUMBRANCE, {**ENCUMBRANCE, "kind": "SEIZURE", "holder": "北京市朝阳区人民法院"}]}
PHONE = "13812345678"


def _grant(item: str, approved_by: str, fields: list[str], unmasked: list[str] | None = None,
           grant_id: str = "g-1") -> Grant:
    return Grant.model_validate({"grant_id": grant_id, "subscriber": "hz-centre", "item": item,
                                 "approved_by": approved_by, "purpose": "housing security checks", "fields": fields,
                                 "unmasked": unmasked or [], "expires_at": NOW + dt.timedelta(days=30)})


def _plan(catalogue: Catalogue, item: str, fields: list[str], grants: list[Grant]) -> Any:
    subscription = Subscription.model_validate({
        "name": "hz", "subscriber": "hz-centre", "items": [{"item": item, "fields": fields}],
        "delivery": {"kind": "webhook", "url": "http://127.0.0.1:1/x"}})
    [plan] = authorise(subscription, catalogue, grants, NOW)
    return plan


def _estate_grant(unmasked: list[str] | None = None) -> Grant:
    return _grant(ESTATE, "natural-resources", ESTATE_FIELDS, unmasked)


def test_nested_fields_are_masked_by_their_classification_and_unmasked_only_by_a_grant() -> None:
    plan = _plan(CATALOGUE, ESTATE, ESTATE_FIELDS, [_estate_grant()])
    assert plan.masked == {"owner_name": "name", "encumbrances[].holder": "name"}
    shaped = plan.shape(TITLE)
    assert [e["holder"] for e in shaped.record["encumbrances"]] == ["李**", "北*********"]
    assert shaped.record["encumbrances"][0] == {**ENCUMBRANCE, "holder": "李**"}, "the other nested fields in clear"
    assert shaped.masked_fields == ["owner_name", "encumbrances[].holder"]
    assert plan.masked_paths == ("owner_name", "encumbrances[].holder")

    unmasked = _plan(CATALOGUE, ESTATE, ESTATE_FIELDS, [_estate_grant(["encumbrances[].holder"])]).shape(TITLE)
    assert [e["holder"] for e in unmasked.record["encumbrances"]] == ["李建国", "北京市朝阳区人民法院"]
    assert unmasked.masked_fields == ["owner_name"]
    assert TITLE["encumbrances"][0]["holder"] == "李建国", "the canonical record is not changed"


def test_a_nested_field_in_a_profile_side_is_masked_with_its_profile_path() -> None:
    fields = ["identity.card_status", "real_estate_titles.certificate_number", "real_estate_titles.encumbrances"]
    grants = [_grant("identity_verification", "public-security", ["resident_id", "card_status"], grant_id="id-1"),
              _grant(ESTATE, "natural-resources", ["certificate_number", "encumbrances"], grant_id="re-1")]
    plan = _plan(CATALOGUE, "profile:person", fields, grants)
    assert isinstance(plan, ProfilePlan)
    assert plan.masked_paths == ("real_estate_titles.encumbrances[].holder",)
    shaped = plan.shape({"resident_id": "11010519491231002X", "identity": {"card_status": "VALID"},
                         "real_estate_titles": [{**TITLE, "unit_number": "110105001002GB00012F00010001"}]})
    [title] = shaped.record["real_estate_titles"]
    assert set(title) == {"certificate_number", "encumbrances"}, "only the fields asked for"
    assert [e["holder"] for e in title["encumbrances"]] == ["李**", "北*********"]
    assert shaped.masked_fields == ["real_estate_titles.encumbrances[].holder"]


def test_a_field_the_catalogue_does_not_classify_is_masked_whole_even_at_the_top_level() -> None:
    """An item built around the loader (or a catalogue that lost a classification) still fails closed."""
    item = CATALOGUE.get("enterprise_registration")
    declassified = item.metadata.model_copy(
        update={"not_personal_fields": [f for f in item.not_personal_fields if f != "registered_capital_cents"]})
    catalogue = Catalogue([dataclasses.replace(item, metadata=declassified)])
    plan = _plan(catalogue, item.name, ["uscc", "registered_capital_cents"], [])
    assert plan.masked == {"registered_capital_cents": "full"}
    shaped = plan.shape({"uscc": "91350100M000100Y43", "registered_capital_cents": 100_000_000})
    assert shaped.record == {"uscc": "91350100M000100Y43", "registered_capital_cents": "******"}
    assert shaped.masked_fields == ["registered_capital_cents"]


def test_rules_mask_what_they_do_not_name_and_keep_nulls() -> None:
    rules = PathRules.of({"a[].name": "name"}, {"a[].kind", "b"})
    hits: dict[str, None] = {}
    value = [{"kind": "K", "name": "张三", "new": {"x": 1}}, {"kind": None, "name": None}, "not a record"]
    assert rules.shape("a", value, hits) == [{"kind": "K", "name": "张*", "new": "******"},
                                             {"kind": None, "name": None}, "******"]
    assert rules.shape("b", {"x": 1}, hits) == {"x": 1}, "a leaf in clear is sent whole"
    assert list(hits) == ["a[].name", "a[].new", "a[]"]


# A field added to a copy of an item's schema: the loader refuses the copy until the field is classified,
# and a record carrying it (decoded by that newer writer schema) never lets it out in clear meanwhile.

def _catalogue_copy(directory: Path, item: str, schema_change: Any, classify: dict[str, Any] | None) -> Catalogue:
    directory.mkdir(exist_ok=True)
    for entry in packaged_items().iterdir():
        if entry.name.endswith((".avsc", ".json")):
            (directory / entry.name).write_text(entry.read_text(encoding="utf-8"), encoding="utf-8")
    schema = json.loads((directory / f"{item}.avsc").read_text(encoding="utf-8"))
    schema_change(schema)
    (directory / f"{item}.avsc").write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    if classify is not None:
        metadata = json.loads((directory / f"{item}.json").read_text(encoding="utf-8"))
        for key, value in classify.items():
            if isinstance(metadata[key], list):
                metadata[key].extend(value)
            else:
                metadata[key].update(value)
        (directory / f"{item}.json").write_text(json.dumps(metadata, ensure_ascii=False), encoding="utf-8")
    return read_catalogue(directory)


def _add_holder_phone(schema: dict[str, Any]) -> None:
    encumbrances = next(f for f in schema["fields"] if f["name"] == "encumbrances")
    encumbrances["type"]["items"]["fields"].append(
        {"name": "holder_phone", "type": ["null", "string"], "default": None, "doc": "Phone of the holder."})


def _add_top_level_phone(schema: dict[str, Any]) -> None:
    schema["fields"].append({"name": "contact_phone", "type": ["null", "string"], "default": None,
                             "doc": "Phone of the counterpart."})


def test_a_nested_field_added_to_the_schema_is_masked_until_classified(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match=r"field\(s\) not classified: encumbrances\[\]\.holder_phone"):
        _catalogue_copy(tmp_path / "new", ESTATE, _add_holder_phone, None)
    newer = {**TITLE, "encumbrances": [{**ENCUMBRANCE, "holder_phone": PHONE}]}
    before = _plan(CATALOGUE, ESTATE, ESTATE_FIELDS, [_estate_grant(["encumbrances[].holder"])]).shape(newer)
    assert before.record["encumbrances"] == [{**ENCUMBRANCE, "holder_phone": "******"}]
    assert before.masked_fields == ["owner_name", "encumbrances[].holder_phone"]
    assert PHONE not in json.dumps(before.record, default=str)

    as_phone = _catalogue_copy(tmp_path / "phone", ESTATE, _add_holder_phone,
                               {"personal_fields": {"encumbrances[].holder_phone": "phone"}})
    grant = _estate_grant(["encumbrances[].holder"])
    assert _plan(as_phone, ESTATE, ESTATE_FIELDS, [grant]).shape(newer).record["encumbrances"][0]["holder_phone"] \
        == "138****5678"
    as_open = _catalogue_copy(tmp_path / "open", ESTATE, _add_holder_phone,
                              {"not_personal_fields": ["encumbrances[].holder_phone"]})
    assert _plan(as_open, ESTATE, ESTATE_FIELDS, [grant]).shape(newer).record["encumbrances"][0]["holder_phone"] \
        == PHONE


def test_a_top_level_field_added_to_the_schema_is_not_delivered_nor_disclosed_until_classified(
        tmp_path: Path) -> None:
    item = CATALOGUE.get("credit_record")
    record = {"decision_number": "D-1", "subject_name": "张三", "fine_cents": 5_000, "contact_phone": PHONE}
    with pytest.raises(SubscriptionRefused, match=r"credit_record has no field\(s\) contact_phone"):
        _plan(CATALOGUE, item.name, ["decision_number", "contact_phone"], [])
    plan = _plan(CATALOGUE, item.name, ["decision_number", "subject_name", "fine_cents"], [])
    assert plan.shape(record).record == {"decision_number": "D-1", "subject_name": "张*", "fine_cents": 5_000}
    assert public_record(item, record) == {"decision_number": "D-1", "fine_cents": 5_000}

    as_personal = _catalogue_copy(tmp_path / "personal", item.name, _add_top_level_phone,
                                  {"personal_fields": {"contact_phone": "phone"}}).get(item.name)
    assert public_record(as_personal, record) == {"decision_number": "D-1", "fine_cents": 5_000}
    as_open = _catalogue_copy(tmp_path / "open", item.name, _add_top_level_phone,
                              {"not_personal_fields": ["contact_phone"]}).get(item.name)
    assert public_record(as_open, record) == {"decision_number": "D-1", "fine_cents": 5_000, "contact_phone": PHONE}


def test_the_public_feed_walks_nested_records_by_allowlist() -> None:
    @dataclasses.dataclass
    class Open:
        name: str = "x"
        open_to_public: bool = True
        not_personal_fields: tuple[str, ...] = ("lots[].amount", "lots[].won_on", "number")

    record = {"number": "P-1", "lots": [{"amount": 5, "winner": "张三", "won_on": dt.date(2026, 1, 2)}, "odd"],
              "winner_phone": PHONE}
    assert public_record(Open(), record) == {"number": "P-1", "lots": [{"amount": 5, "won_on": "2026-01-02"}]}
    assert public_record(Open(), {"number": "P-2", "lots": None}) == {"number": "P-2", "lots": None}


def test_every_shipped_item_discloses_only_fields_it_calls_not_personal() -> None:
    for item in CATALOGUE:
        assert public_record(item, {"surprise": PHONE}) == {}, item.name
        every_field = {f["name"]: "v" for f in item.record_schema["fields"]}
        assert set(public_record(item, every_field)) == set(every_field) & set(item.not_personal_fields), item.name
