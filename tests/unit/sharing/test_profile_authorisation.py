"""Planning of profile requests: one grant per side, side fields within that side's grant, masking per
side, the key masked as the anchor's grant says, filters on the anchor record."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from govbus.sharing.authorisation import ProfilePlan, SubscriptionRefused, authorise
from govbus.sharing.model import Grant, Subscription
from schemas.catalogue import load_catalogue

NOW = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
CATALOGUE = load_catalogue()
PERSON_FIELDS = ["resident_id", "identity.name", "identity.gender", "identity.division_code",
                 "degrees.certificate_number", "degrees.holder_name", "degrees.major",
                 "real_estate_titles.certificate_number", "real_estate_titles.location"]
RESIDENT_ID = "11010519491231002X"


def _subscription(fields: list[str], item: str = "profile:person", **filter_: object) -> Subscription:
    request: dict[str, object] = {"item": item, "fields": fields}
    if filter_:
        request["filter"] = filter_
    return Subscription.model_validate({"name": "hz", "subscriber": "hz-centre", "items": [request],
                                        "delivery": {"kind": "webhook", "url": "http://127.0.0.1:1/x"}})


def _grant(grant_id: str, item: str, approved_by: str, fields: list[str], unmasked: list[str] | None = None,
           **changes: object) -> Grant:
    values: dict[str, object] = {"grant_id": grant_id, "subscriber": "hz-centre", "item": item,
                                 "approved_by": approved_by, "purpose": "residency checks", "fields": fields,
                                 "unmasked": unmasked or [], "expires_at": NOW + dt.timedelta(days=30)}
    return Grant.model_validate({**values, **changes})


def _identity(**changes: object) -> Grant:
    return _grant("id-1", "identity_verification", "public-security",
                  ["resident_id", "name", "gender", "division_code", "card_status"], ["name"], **changes)


def _degrees(**changes: object) -> Grant:
    return _grant("edu-1", "degree_certification", "education", ["certificate_number", "holder_name", "major"],
                  **changes)


def _titles(department: str = "natural-resources", **changes: object) -> Grant:
    return _grant("re-1", "real_estate_registration", department, ["certificate_number", "location"],
                  ["location"], **changes)


def _person_plan(fields: list[str] = PERSON_FIELDS, grants: list[Grant] | None = None,
                 **filter_: object) -> ProfilePlan:
    [plan] = authorise(_subscription(fields, **filter_), CATALOGUE,
                       [_identity(), _degrees(), _titles()] if grants is None else grants, NOW)
    assert isinstance(plan, ProfilePlan)
    return plan


def _profile() -> dict[str, Any]:
    degree = {"certificate_number": "D1", "certificate_kind": "DEGREE", "holder_name": "张三丰",
              "holder_resident_id": RESIDENT_ID, "major": "计算机", "institution_name": "浙江大学"}
    return {"event_id": "e", "resident_id": RESIDENT_ID, "caused_by": {"data_item": "identity_verification"},
            "identity": {"resident_id": RESIDENT_ID, "name": "张三丰", "gender": "MALE", "division_code": "330106",
                         "household_address": "浙江省杭州市西湖区文三路1号", "card_status": "VALID"},
            "degree_certifications": [degree, {**degree, "certificate_number": "D2", "major": "数学"}],
            "real_estate_titles": [{"certificate_number": "R1", "location": "杭州市西湖区文三路1号",
                                    "owner_name": "张三丰", "owner_resident_id": RESIDENT_ID}]}


def test_every_side_needs_its_own_grant_and_each_missing_one_is_named() -> None:
    with pytest.raises(SubscriptionRefused) as refused:
        authorise(_subscription(PERSON_FIELDS), CATALOGUE, [_identity()], NOW)
    [reason] = refused.value.reasons
    assert reason.startswith("profile:person refused: ")
    assert "side degrees: degree_certification is shared conditionally: hz-centre needs a grant approved by " \
           "education" in reason
    assert "side real_estate_titles: real_estate_registration" in reason and "natural-resources" in reason
    assert "side identity" not in reason, "the granted side is not a reason"


def test_expired_revoked_and_foreign_grants_are_named_side_by_side() -> None:
    grants = [_identity(revoked=True), _degrees(expires_at=NOW - dt.timedelta(days=1)),
              _titles("education")]
    with pytest.raises(SubscriptionRefused) as refused:
        authorise(_subscription(PERSON_FIELDS), CATALOGUE, grants, NOW)
    reason = refused.value.reasons[0]
    assert "side identity: identity_verification: grant(s) id-1 were revoked by public-security" in reason
    assert "side degrees: degree_certification: grant edu-1 expired at 2026-11-22" in reason
    assert "side real_estate_titles: real_estate_registration is shared conditionally: hz-centre needs a grant " \
           "approved by natural-resources" in reason, "a grant approved by another department does not count"


def test_side_fields_must_be_within_that_sides_grant() -> None:
    with pytest.raises(SubscriptionRefused, match=r"side degrees: degree_certification: field\(s\) level are "
                                                  r"outside grant\(s\) edu-1"):
        _person_plan([*PERSON_FIELDS, "degrees.level"])


def test_unknown_fields_and_sides_are_refused_with_the_syntax() -> None:
    with pytest.raises(SubscriptionRefused) as refused:
        _person_plan(["resident_id", "pets.name", "name", "identity.shoe_size"])
    reason = refused.value.reasons[0]
    assert "profile:person has no field(s) pets.name, name" in reason
    assert "side.field with the sides identity (identity_verification), degrees (degree_certification)" in reason
    with pytest.raises(SubscriptionRefused, match="identity_verification has no field"):
        _person_plan(["identity.shoe_size"])


def test_the_anchor_is_always_checked_and_sides_not_asked_for_need_no_grant() -> None:
    plan = _person_plan(["degrees.major"], [_identity(), _degrees()])
    assert plan.fields == ("degree_certifications",) and plan.paths == ("degree_certifications.major",)
    assert plan.source_items == ("identity_verification", "degree_certification")
    with pytest.raises(SubscriptionRefused, match="side identity: identity_verification is shared conditionally"):
        _person_plan(["degrees.major"], [_degrees()])


def test_a_profile_is_shaped_per_side_with_personal_fields_masked_as_each_grant_says() -> None:
    plan = _person_plan()
    assert plan.grant_id == "id-1, edu-1, re-1"
    assert plan.fields == ("resident_id", "identity", "degree_certifications", "real_estate_titles")
    assert plan.masked == {"resident_id": "resident_id"}, "the anchor's grant does not unmask the key"
    assert plan.masked_paths == ("resident_id", "degree_certifications.holder_name")
    assert plan.field_paths == plan.paths and len(plan.paths) == len(PERSON_FIELDS)
    shaped = plan.shape(_profile())
    assert shaped.record == {
        "resident_id": "110105********002X",
        "identity": {"name": "张三丰", "gender": "MALE", "division_code": "330106"},
        "degree_certifications": [
            {"certificate_number": "D1", "holder_name": "张**", "major": "计算机"},
            {"certificate_number": "D2", "holder_name": "张**", "major": "数学"}],
        "real_estate_titles": [{"certificate_number": "R1", "location": "杭州市西湖区文三路1号"}]}
    assert shaped.masked_fields == ["resident_id", "degree_certifications.holder_name"]
    assert shaped.delivered_fields == ["resident_id", "identity.name", "identity.gender", "identity.division_code",
                                       "degree_certifications.certificate_number",
                                       "degree_certifications.holder_name", "degree_certifications.major",
                                       "real_estate_titles.certificate_number", "real_estate_titles.location"]


def test_the_key_is_in_clear_when_the_anchor_grant_unmasks_it_and_sides_may_be_named_by_their_field() -> None:
    identity = _grant("id-2", "identity_verification", "public-security", ["resident_id", "name"], ["resident_id"])
    plan = _person_plan(["resident_id", "identity.resident_id", "degree_certifications.major"],
                        [identity, _degrees()])
    assert plan.masked == {}
    shaped = plan.shape({**_profile(), "degree_certifications": []})
    assert shaped.record == {"resident_id": RESIDENT_ID, "identity": {"resident_id": RESIDENT_ID},
                             "degree_certifications": []}
    assert shaped.masked_fields == []


def test_a_conditional_profile_needs_grants_even_for_unconditional_items_and_counts_need_their_side() -> None:
    fields = ["uscc", "registration.name", "tax_payment_certificate_count"]
    with pytest.raises(SubscriptionRefused) as refused:
        authorise(_subscription(fields, "profile:enterprise"), CATALOGUE, [], NOW)
    reason = refused.value.reasons[0]
    assert "side registration: enterprise_registration is delivered here only under a grant" in reason
    assert "side tax_payment_certificates: tax_payment_certificate is shared conditionally" in reason
    grants = [_grant("mr-1", "enterprise_registration", "market-regulation", ["uscc", "name"]),
              _grant("tax-1", "tax_payment_certificate", "taxation", ["certificate_number"])]
    [plan] = authorise(_subscription(fields, "profile:enterprise"), CATALOGUE, grants, NOW)
    assert plan.fields == ("uscc", "registration", "tax_payment_certificate_count")
    shaped = plan.shape({"uscc": "U1", "registration": {"uscc": "U1", "name": "华信", "address": "x"},
                         "latest_tax_payment_certificate": {"certificate_number": "T"},
                         "tax_payment_certificate_count": 3, "credit_records": [], "procurement_awards": []})
    assert shaped.record == {"uscc": "U1", "registration": {"name": "华信"}, "tax_payment_certificate_count": 3}


def test_filters_read_the_anchor_record_within_its_grant() -> None:
    plan = _person_plan(division_prefix="3301", equals={"identity.card_status": "VALID"})
    assert plan.matches(_profile())
    assert not plan.matches({**_profile(), "identity": {**_profile()["identity"], "division_code": "110105"}})
    assert not plan.matches({**_profile(), "identity": None})
    with pytest.raises(SubscriptionRefused, match=r"filter reads resident_id .* may not see in clear"):
        _person_plan(equals={"resident_id": [RESIDENT_ID]})  # masked for it: a filter would test its values
    unmasking = [_grant("id-1", "identity_verification", "public-security",
                        ["resident_id", "name", "gender", "division_code", "card_status"], ["name", "resident_id"]),
                 _degrees(), _titles()]
    keyed = _person_plan(grants=unmasking, equals={"resident_id": [RESIDENT_ID]})
    assert keyed.matches(_profile()) and keyed.filter.equals == {"resident_id": [RESIDENT_ID]}
    with pytest.raises(SubscriptionRefused, match="a filter applies to the anchor record only"):
        _person_plan(equals={"degrees.major": "数学"})
    with pytest.raises(SubscriptionRefused, match="the filter reads ethnicity of identity_verification, which"):
        _person_plan(equals={"identity.ethnicity": "汉"})
