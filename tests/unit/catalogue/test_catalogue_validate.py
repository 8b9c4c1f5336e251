"""DataItem.validate / problems / key_of and the identifier types: normalised output, errors naming fields."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from catalogue_samples import COMPANY, PERSON, resident_id, uscc

from govbus.exceptions import ValidationError
from govbus.identifiers import USCC_ALPHABET
from schemas.catalogue import Catalogue

Samples = dict[str, dict[str, Any]]


def _wrong_uscc(code: str) -> str:
    return code[:17] + USCC_ALPHABET[(USCC_ALPHABET.index(code[17]) + 1) % 31]


def _error(catalogue: Catalogue, item: str, record: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        catalogue.get(item).validate(record)
    return caught.value


# ---------------------------------------------------------------- identifier types

def test_valid_identifiers_pass_and_come_back_canonical(catalogue: Catalogue, samples: Samples) -> None:
    record = samples["enterprise_registration"]
    record["uscc"] = " " + "".join(chr(ord(c) + 0xFEE0) for c in COMPANY.lower()) + " "  # full-width, lower case
    record["division_code"] = "１１０１０５"
    out = catalogue.get("enterprise_registration").validate(record)
    assert out["uscc"] == COMPANY
    assert out["division_code"] == "110105"


def test_wrong_uscc_check_character_names_field_and_rule(catalogue: Catalogue, samples: Samples) -> None:
    record = samples["enterprise_registration"]
    record["uscc"] = _wrong_uscc(COMPANY)
    error = _error(catalogue, "enterprise_registration", record)
    assert (error.field, error.rule) == ("uscc", "uscc.check_character")
    assert f"should be {COMPANY[17]!r}" in error.detail
    assert str(error).startswith("uscc: ")


@pytest.mark.parametrize(
    ("value", "rule"),
    [("91110105MA01ABCD", "uscc.format"), ("91110105MA01ABCDI" + "0", "uscc.format"),
     (uscc("91010105MA01ABCD2"), "uscc.division")],
)
def test_malformed_uscc_has_its_own_rule(catalogue: Catalogue, samples: Samples, value: str, rule: str) -> None:
    record = samples["government_procurement_award"]
    record["supplier_uscc"] = value
    error = _error(catalogue, "government_procurement_award", record)
    assert (error.field, error.rule) == ("supplier_uscc", rule)


def test_wrong_resident_id_check_character(catalogue: Catalogue, samples: Samples) -> None:
    record = samples["degree_certification"]
    record["holder_resident_id"] = PERSON[:17] + ("0" if PERSON[17] != "0" else "1")
    error = _error(catalogue, "degree_certification", record)
    assert (error.field, error.rule) == ("holder_resident_id", "resident_id.check_character")
    assert "does not match" in error.detail and PERSON[17] not in error.detail.replace("18th", "")
    assert PERSON[:17] not in error.detail, "no personal value in the reason"


def test_legacy_15_digit_resident_id_is_upgraded(catalogue: Catalogue, samples: Samples) -> None:
    record = samples["affordable_housing_allocation"]
    record["applicant_resident_id"] = "110105491231002"  # the 15-digit form of the GB 11643 sample
    out = catalogue.get("affordable_housing_allocation").validate(record)
    assert out["applicant_resident_id"] == "11010519491231002X"


def test_lower_case_x_is_accepted_as_x(catalogue: Catalogue, samples: Samples) -> None:
    record = samples["degree_certification"]
    record["holder_resident_id"] = PERSON.lower()
    assert catalogue.get("degree_certification").validate(record)["holder_resident_id"] == PERSON


@pytest.mark.parametrize(
    ("value", "rule"),
    [("1101051949123100", "resident_id.format"), (resident_id("11010519491331002"), "resident_id.birth_date"),
     ("110105194912310A2X", "resident_id.format")],
)
def test_malformed_resident_id(catalogue: Catalogue, samples: Samples, value: str, rule: str) -> None:
    record = samples["degree_certification"]
    record["holder_resident_id"] = value
    error = _error(catalogue, "degree_certification", record)
    assert (error.field, error.rule) == ("holder_resident_id", rule)
    assert "not a valid resident identity number" in error.detail and value[6:14] not in error.detail


@pytest.mark.parametrize("value", ["010105", "11010", "11010A", "1101055"])
def test_bad_division_code(catalogue: Catalogue, samples: Samples, value: str) -> None:
    record = samples["land_use_right_transfer"]
    record["division_code"] = value
    error = _error(catalogue, "land_use_right_transfer", record)
    assert (error.field, error.rule) == ("division_code", "division_code.format")
    assert "is not an administrative division code" in error.detail


# ---------------------------------------------------------------- validate

def test_validate_returns_an_avro_ready_record(catalogue: Catalogue, samples: Samples) -> None:
    out = catalogue.get("real_estate_registration").validate(samples["real_estate_registration"])
    assert out["registered_on"] == dt.date(2017, 6, 1) and type(out["registered_on"]) is dt.date
    assert out["status"] == "VALID" and type(out["status"]) is str
    assert type(out["encumbrances"][0]["kind"]) is str
    assert out["owner_uscc"] is None  # absent optional fields are filled with their default


def test_error_inside_a_nested_record_names_the_path(catalogue: Catalogue, samples: Samples) -> None:
    record = samples["real_estate_registration"]
    record["encumbrances"][0]["kind"] = "PLEDGE"
    error = _error(catalogue, "real_estate_registration", record)
    assert (error.field, error.rule) == ("encumbrances.0.kind", "enum")
    assert "'PLEDGE'" in error.detail and "MORTGAGE" in error.detail


def test_missing_and_unknown_fields(catalogue: Catalogue, samples: Samples) -> None:
    record = samples["credit_record"]
    del record["decided_on"]
    record["remark"] = "?"
    problems = catalogue.get("credit_record").problems(record)
    assert [(p.field, p.rule) for p in problems] == [("decided_on", "required"), ("remark", "unknown_field")]
    assert str(problems[0]) == "decided_on: is required"


def test_problems_lists_every_field_and_validate_raises_the_first(catalogue: Catalogue, samples: Samples) -> None:
    record = samples["tax_payment_certificate"]
    record["amount_cents"] = -5
    record["tax_authority_division_code"] = "000000"
    item = catalogue.get("tax_payment_certificate")
    assert [p.field for p in item.problems(record)] == ["tax_authority_division_code", "amount_cents"]
    assert _error(catalogue, "tax_payment_certificate", record).field == "tax_authority_division_code"
    assert item.problems(samples["identity_verification"] | {}) != []  # another item's record fails


def test_cross_field_rules_name_the_field(catalogue: Catalogue, samples: Samples) -> None:
    record = samples["tax_payment_certificate"]
    record["taxpayer_kind"] = "ORGANISATION"
    error = _error(catalogue, "tax_payment_certificate", record)
    assert (error.field, error.rule) == ("taxpayer_uscc", "identifier.required")
    assert "taxpayer_kind is ORGANISATION" in error.detail

    identity = samples["identity_verification"]
    identity["gender"] = "MALE"
    error = _error(catalogue, "identity_verification", identity)
    assert (error.field, error.rule) == ("gender", "resident_id.gender_mismatch")


def test_date_order_and_naive_timestamps(catalogue: Catalogue, samples: Samples) -> None:
    record = samples["mining_right_transfer"]
    record["valid_until"] = "2020-01-01"
    error = _error(catalogue, "mining_right_transfer", record)
    assert (error.field, error.rule) == ("valid_until", "date.order")

    record = samples["mining_right_transfer"]
    record["announced_at"] = dt.datetime(2024, 5, 20, 9, 30)
    error = _error(catalogue, "mining_right_transfer", record)
    assert (error.field, error.rule) == ("announced_at", "timestamp.timezone")


def test_a_non_mapping_is_refused(catalogue: Catalogue) -> None:
    with pytest.raises(ValidationError, match="is a mapping"):
        catalogue.get("credit_record").validate(["not", "a", "dict"])  # type: ignore[arg-type]


# ---------------------------------------------------------------- key_of

def test_key_of_single_and_composite_keys(catalogue: Catalogue, samples: Samples) -> None:
    assert catalogue.get("enterprise_registration").key_of(samples["enterprise_registration"]) == COMPANY
    award = catalogue.get("government_procurement_award")
    assert award.key_of(award.validate(samples["government_procurement_award"])) == "BJCG-2024-0001|2"
    tender = catalogue.get("construction_tender_award")
    assert tender.key_of(samples["construction_tender_award"]) == "E1101050001|01"


def test_key_of_refuses_missing_keys_and_the_separator(catalogue: Catalogue, samples: Samples) -> None:
    award = catalogue.get("government_procurement_award")
    record = samples["government_procurement_award"]
    del record["lot_number"]
    with pytest.raises(ValidationError) as caught:
        award.key_of(record)
    assert (caught.value.field, caught.value.rule) == ("lot_number", "required")
    record = samples["government_procurement_award"] | {"project_number": "A|B"}
    with pytest.raises(ValidationError) as caught:
        award.key_of(record)
    assert (caught.value.field, caught.value.rule) == ("project_number", "key.separator")
