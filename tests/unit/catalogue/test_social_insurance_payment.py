"""The social insurance payment certificate: the cross-field rules its model takes from the Social Insurance Law,
the month format, and the department it brings to the catalogue."""

from __future__ import annotations

from typing import Any

import pytest

from govbus.exceptions import ValidationError
from schemas.catalogue import Catalogue, Department
from schemas.catalogue.loader import department_namespace

ITEM = "social_insurance_payment"
Samples = dict[str, dict[str, Any]]


def _error(catalogue: Catalogue, record: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        catalogue.get(ITEM).validate(record)
    return caught.value


def test_a_payment_with_an_employer_validates_and_is_keyed_by_its_certificate(catalogue: Catalogue,
                                                                               samples: Samples) -> None:
    item = catalogue.get(ITEM)
    record = item.validate(samples[ITEM])
    assert item.key_of(record) == "110105202405000123" and record["period"] == "2024-05"
    assert item.department == Department.HUMAN_RESOURCES_SOCIAL_SECURITY.value
    assert item.record_schema["namespace"] == department_namespace(item.department)
    assert catalogue.owned_by("human-resources-social-security") == [item]


@pytest.mark.parametrize("insurance", ["PENSION", "MEDICAL"])
def test_a_flexibly_employed_person_may_pay_pension_and_medical_alone(catalogue: Catalogue, samples: Samples,
                                                                      insurance: str) -> None:
    record = {**samples[ITEM], "insurance_type": insurance, "employer_name": None, "employer_uscc": None}
    assert catalogue.get(ITEM).validate(record)["employer_uscc"] is None


@pytest.mark.parametrize("insurance", ["UNEMPLOYMENT", "WORK_INJURY", "MATERNITY"])
def test_other_insurance_needs_an_employer(catalogue: Catalogue, samples: Samples, insurance: str) -> None:
    record = {**samples[ITEM], "insurance_type": insurance, "employer_name": None, "employer_uscc": None}
    error = _error(catalogue, record)
    assert (error.field, error.rule) == ("employer_uscc", "employer.required")
    assert insurance in error.detail


def test_an_employer_is_named_and_coded_together(catalogue: Catalogue, samples: Samples) -> None:
    error = _error(catalogue, {**samples[ITEM], "employer_uscc": None})
    assert (error.field, error.rule) == ("employer_uscc", "employer.incomplete")


def test_the_amount_cannot_exceed_the_contribution_base(catalogue: Catalogue, samples: Samples) -> None:
    record = {**samples[ITEM], "contribution_base_cents": 100_000, "amount_cents": 100_001}
    error = _error(catalogue, record)
    assert (error.field, error.rule) == ("amount_cents", "amount.above_limit")


@pytest.mark.parametrize("period", ["2024-5", "2024-13", "2024-00", "202405", "2024/05", "2024-05-01", "２０２４-05"])
def test_the_period_is_a_month_written_yyyy_mm(catalogue: Catalogue, samples: Samples, period: str) -> None:
    error = _error(catalogue, {**samples[ITEM], "period": period})
    assert (error.field, error.rule) == ("period", "string_pattern_mismatch")


def test_the_insured_person_is_personal_and_the_employer_is_not(catalogue: Catalogue) -> None:
    item = catalogue.get(ITEM)
    assert {f: k.value for f, k in item.personal_fields.items()} == {
        "insured_name": "name", "insured_resident_id": "resident_id"}
    assert {"employer_name", "employer_uscc"} <= set(item.not_personal_fields)
