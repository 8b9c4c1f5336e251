"""Shaping canonical events into what a receiver gets: planned fields, masks, deletes, keys."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from connectors.webhook.payload import batch_body, batch_key, dumps, shape_event
from govbus.exceptions import ConfigurationError
from govbus.sharing.authorisation import ItemPlan, authorise
from govbus.sharing.model import Grant, Subscription
from govbus.sharing.pseudonyms import PSEUDONYM_PREFIX, PseudonymKey
from schemas.catalogue import load_catalogue

CATALOGUE = load_catalogue()
NOW = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)


def _plan(item: str, fields: list[str], grants: list[Grant] | None = None) -> ItemPlan:
    subscription = Subscription.model_validate({
        "name": "hz", "subscriber": "hz-centre", "items": [{"item": item, "fields": fields}],
        "delivery": {"kind": "webhook", "url": "http://127.0.0.1:1/x", "secret_env": "X"}})
    [plan] = authorise(subscription, CATALOGUE, grants or [], NOW)
    return plan


def _event(item: str, key: str, record: dict[str, object] | None, operation: str = "UPSERT") -> dict[str, object]:
    return {"event_id": uuid.UUID(int=7), "data_item": item, "department": "market-regulation",
            "source_system": "internal-db", "operation": operation, "record_key": key, "occurred_at": NOW,
            "published_at": NOW, "trace_id": "t1", "record": record}


def test_only_planned_fields_with_personal_ones_masked_and_the_key_in_clear() -> None:
    plan = _plan("enterprise_registration", ["uscc", "name", "legal_representative", "established_on"])
    record = {"uscc": "91330106MA2B3C4D5E", "name": "华信有限公司", "legal_representative": "王小明",
              "established_on": dt.date(2020, 5, 18), "address": "never sent", "registered_capital_cents": 5}
    shaped = shape_event(_event("enterprise_registration", "91330106MA2B3C4D5E", record), plan, ("uscc",), None)
    body = json.loads(dumps(shaped.body))
    assert body["record"] == {"uscc": "91330106MA2B3C4D5E", "name": "华信有限公司",
                              "legal_representative": "王**", "established_on": "2020-05-18"}
    assert body["published_at"] == "2026-11-23T00:00:00+00:00"
    assert shaped.body["record_key"] == "91330106MA2B3C4D5E"
    assert shaped.body["event_id"] == shaped.body["idempotency_key"] == str(uuid.UUID(int=7))
    assert shaped.body["masked_fields"] == shaped.masked_fields == ["legal_representative"]
    assert shaped.delivered_fields == ["uscc", "name", "legal_representative", "established_on"]
    assert "source_system" not in shaped.body


def test_a_delete_carries_the_key_only() -> None:
    plan = _plan("enterprise_registration", ["uscc", "name"])
    shaped = shape_event(_event("enterprise_registration", "91330106MA2B3C4D5E", None, "DELETE"), plan, ("uscc",), None)
    assert shaped.body["operation"] == "DELETE" and shaped.body["record"] is None
    assert shaped.body["record_key"] == "91330106MA2B3C4D5E"
    assert shaped.delivered_fields == [] and shaped.masked_fields == []


def test_a_key_made_of_a_masked_or_unplanned_field_is_the_subscribers_pseudonym_from_the_platform_key() -> None:
    grant = Grant.model_validate({
        "grant_id": "g1", "subscriber": "hz-centre", "item": "tax_payment_certificate", "approved_by": "taxation",
        "purpose": "housing checks", "fields": ["taxpayer_name", "amount_cents"], "expires_at": NOW.replace(year=2030)})
    plan = _plan("tax_payment_certificate", ["taxpayer_name", "amount_cents"], [grant])
    event = _event("tax_payment_certificate", "CERT-1", {"certificate_number": "CERT-1", "taxpayer_name": "李四",
                                                         "amount_cents": 100})
    key = PseudonymKey("a-platform-key-of-at-least-32-characters")
    first = shape_event(event, plan, ("certificate_number",), key.for_subscriber("hz-centre"))
    again = shape_event(event, plan, ("certificate_number",), key.for_subscriber("hz-centre"))
    other = shape_event(event, plan, ("certificate_number",), key.for_subscriber("another-centre"))
    assert first.body["record_key"] == key.for_subscriber("hz-centre").of("tax_payment_certificate", "CERT-1")
    assert first.body["record_key"].startswith(PSEUDONYM_PREFIX)
    assert first.body["record_key"] == again.body["record_key"] != other.body["record_key"]
    assert b"CERT-1" not in dumps(first.body)
    assert first.body["record"] == {"taxpayer_name": "李*", "amount_cents": 100}
    with pytest.raises(ConfigurationError, match="GOVBUS_PSEUDONYM_KEY") as refused:
        shape_event(event, plan, ("certificate_number",), None)
    assert "CERT-1" not in str(refused.value), "never in clear, not even in the error"


def test_the_batch_key_depends_on_the_event_ids_only() -> None:
    plan = _plan("enterprise_registration", ["uscc"])
    events = [shape_event({**_event("enterprise_registration", f"K{i}", {"uscc": f"K{i}"}),
                           "event_id": uuid.UUID(int=i)}, plan, ("uscc",), None) for i in range(3)]
    key, body = batch_body("hz", "hz-centre", events)
    assert key == batch_key(str(uuid.UUID(int=i)) for i in range(3))
    document = json.loads(body)
    assert document["batch_key"] == key and [e["record_key"] for e in document["events"]] == ["K0", "K1", "K2"]
    assert batch_body("hz", "hz-centre", events[::-1])[0] != key
