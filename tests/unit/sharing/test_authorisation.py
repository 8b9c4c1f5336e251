import datetime as dt

import pytest

from govbus.exceptions import AuthorizationError
from govbus.sharing.authorisation import SubscriptionRefused, authorise, matches, plan_request, shape
from govbus.sharing.model import Grant, ItemRequest, Subscription
from schemas.catalogue import load_catalogue

NOW = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
CATALOGUE = load_catalogue()


def _subscription(*items: dict[str, object]) -> Subscription:
    return Subscription.model_validate({"name": "hz-one-stop", "subscriber": "hz-centre", "items": list(items),
                                        "delivery": {"kind": "webhook", "url": "http://127.0.0.1:1/x"}})


def _grant(**overrides: object) -> Grant:
    values: dict[str, object] = {
        "grant_id": "tax-1", "subscriber": "hz-centre", "item": "tax_payment_certificate",
        "approved_by": "taxation", "purpose": "housing purchase checks",
        "fields": ["certificate_number", "taxpayer_name", "taxpayer_resident_id", "amount_cents"],
        "unmasked": ["taxpayer_name"], "expires_at": NOW + dt.timedelta(days=30)}
    values.update(overrides)
    return Grant.model_validate(values)


TAX = {"item": "tax_payment_certificate", "fields": ["certificate_number", "taxpayer_name", "taxpayer_resident_id"]}


def test_unconditional_item_is_planned_with_personal_fields_masked() -> None:
    [plan] = authorise(_subscription({"item": "enterprise_registration",
                                      "fields": ["uscc", "name", "legal_representative"]}), CATALOGUE, [], NOW)
    assert plan.masked == {"legal_representative": "name"} and plan.grant_id is None
    shaped = shape({"uscc": "U", "name": "N", "legal_representative": "王小明", "address": "secret"}, plan)
    assert shaped.record == {"uscc": "U", "name": "N", "legal_representative": "王**"}
    assert shaped.masked_fields == ["legal_representative"]


def test_conditional_item_needs_a_grant_and_gets_only_granted_fields_masked_as_granted() -> None:
    with pytest.raises(SubscriptionRefused, match="needs a grant approved by taxation"):
        authorise(_subscription(TAX), CATALOGUE, [], NOW)
    [plan] = authorise(_subscription(TAX), CATALOGUE, [_grant()], NOW)
    assert plan.grant_id == "tax-1"
    assert plan.masked == {"taxpayer_resident_id": "resident_id"}  # taxpayer_name is granted unmasked
    shaped = shape({"certificate_number": "C1", "taxpayer_name": "李四", "taxpayer_resident_id": "11010519491231002X",
                    "amount_cents": 5}, plan)
    assert shaped.record == {"certificate_number": "C1", "taxpayer_name": "李四",
                             "taxpayer_resident_id": "110105********002X"}


@pytest.mark.parametrize(
    ("grant", "words"),
    [({"expires_at": NOW - dt.timedelta(seconds=1)}, "expired"), ({"revoked": True}, "revoked"),
     ({"approved_by": "finance"}, "needs a grant approved by taxation"),
     ({"fields": ["certificate_number"]}, "outside grant")],
)
def test_a_grant_that_does_not_cover_the_request_refuses_it(grant: dict[str, object], words: str) -> None:
    with pytest.raises(SubscriptionRefused, match=words):
        authorise(_subscription(TAX), CATALOGUE, [_grant(**grant)], NOW)


def test_not_shared_unknown_items_and_fields_are_all_reported_at_once() -> None:
    with pytest.raises(SubscriptionRefused) as refused:
        authorise(_subscription({"item": "tax_risk_assessment", "fields": ["assessment_number"]},
                                {"item": "no_such_item", "fields": ["x"]},
                                {"item": "enterprise_registration", "fields": ["uscc", "shoe_size"]}),
                  CATALOGUE, [], NOW)
    assert len(refused.value.reasons) == 3
    assert "never leaves" in refused.value.reasons[0] and "shoe_size" in refused.value.reasons[2]


def test_filters_by_division_prefix_and_values() -> None:
    [plan] = authorise(_subscription({"item": "enterprise_registration", "fields": ["uscc"],
                                      "filter": {"division_prefix": "3301", "equals": {"status": "ESTABLISHED"}}}),
                       CATALOGUE, [], NOW)
    assert matches({"division_code": "330106", "status": "ESTABLISHED"}, plan)
    assert not matches({"division_code": "110105", "status": "ESTABLISHED"}, plan)
    assert not matches({"division_code": "330106", "status": "REVOKED"}, plan)


def test_an_item_filter_reads_only_fields_delivered_in_clear() -> None:
    """A filter on a masked or ungranted field would let the subscriber test values it may not see."""
    from govbus.sharing.model import Filter

    def plan(equals: dict[str, object], unmasked: list[str] | None = None) -> object:
        request = ItemRequest(item="tax_payment_certificate", fields=["certificate_number", "taxpayer_name"],
                              filter=Filter.model_validate({"equals": equals}))
        grant = Grant(grant_id="g", subscriber="hz-centre", item="tax_payment_certificate", approved_by="taxation",
                      purpose="housing checks", expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
                      unmasked=unmasked or [],
                      fields=["certificate_number", "taxpayer_name", "taxpayer_resident_id", "taxpayer_kind"])
        return plan_request(request, "hz-centre", load_catalogue(), [grant], dt.datetime(2026, 12, 5, tzinfo=dt.UTC))

    assert plan({"taxpayer_kind": "INDIVIDUAL"}) is not None, "granted and not personal: may filter"
    with pytest.raises(AuthorizationError, match=r"taxpayer_resident_id .* may not see in clear"):
        plan({"taxpayer_resident_id": "110105194912310021"})  # granted, but masked for it
    with pytest.raises(AuthorizationError, match=r"amount_cents .* may not see in clear"):
        plan({"amount_cents": 100})  # not granted
    assert plan({"taxpayer_resident_id": "x"}, unmasked=["taxpayer_resident_id"]) is not None, "unmasked: may"
