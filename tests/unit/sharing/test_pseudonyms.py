"""Pseudonyms of record keys (issue #11): from the platform's key only, one key per subscriber, stable, independent
of the webhook's signing secret; the one setting every delivery connector shares; a connector that would need them
refuses to start without the key."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any

import pytest
from click.testing import CliRunner

from connectors.kafka_delivery.settings import KafkaDeliverySettings
from connectors.webhook.connector import WebhookConnector
from connectors.webhook.payload import batch_body, shape_event
from connectors.webhook.plans import authorise_items
from connectors.webhook.settings import WebhookSettings
from connectors.webhook.signing import sign
from govbus.cli import main
from govbus.commands.settings_docs import COMPONENTS, rows
from govbus.exceptions import ConfigurationError
from govbus.sharing.model import Grant, Subscription
from govbus.sharing.pseudonyms import PSEUDONYM_KEY_VARIABLE, PseudonymKey, PseudonymSettings, SubscriberPseudonyms
from govbus.sharing.store import SharingSnapshot
from schemas.catalogue import load_catalogue

CATALOGUE = load_catalogue()
NOW = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
PLATFORM_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
RECEIVERS_SECRET = "whsec_dGhlLXJlY2VpdmVycy1zaWduaW5nLXNlY3JldA=="  # the webhook signing secret the receiver holds
ITEM = "identity_verification"
RESIDENT_ID = "110101199003071239"


def test_the_pseudonym_is_the_documented_encoding() -> None:
    subscriber_key = hmac.new(PLATFORM_KEY.encode(), b"govbus-pseudonym|hz-centre", hashlib.sha256).digest()
    expected = "hmac-sha256:" + hmac.new(subscriber_key, f"{ITEM}|{RESIDENT_ID}".encode(), hashlib.sha256).hexdigest()
    assert PseudonymKey(PLATFORM_KEY).for_subscriber("hz-centre").of(ITEM, RESIDENT_ID) == expected


def test_pseudonyms_are_stable_and_differ_per_subscriber_item_and_platform_key() -> None:
    key = PseudonymKey(PLATFORM_KEY)
    centre = key.for_subscriber("hz-centre")
    assert centre.of(ITEM, RESIDENT_ID) == PseudonymKey(PLATFORM_KEY).for_subscriber("hz-centre").of(ITEM, RESIDENT_ID)
    assert key.for_subscriber("hz-centre") is centre, "derived once per subscriber"
    others = {key.for_subscriber("bank-kyc").of(ITEM, RESIDENT_ID), centre.of("profile:person", RESIDENT_ID),
              PseudonymKey("another-platform-key-of-32-characters").for_subscriber("hz-centre").of(ITEM, RESIDENT_ID)}
    assert centre.of(ITEM, RESIDENT_ID) not in others and len(others) == 3, "no linking across subscribers"


def test_the_key_is_never_shown_and_a_short_one_is_refused_with_how_to_make_one() -> None:
    key = PseudonymKey(PLATFORM_KEY)
    assert PLATFORM_KEY not in repr(key) + repr(key.for_subscriber("hz-centre"))
    with pytest.raises(ConfigurationError, match=r"shorter than 32 characters.*openssl rand -hex 32") as short:
        PseudonymKey("hunter2-but-longer")
    assert "hunter2" not in str(short.value)


def _tax_plan() -> tuple[Any, tuple[str, ...]]:
    """A plan of tax certificates whose key (certificate_number) the subscriber does not ask for: pseudonymised."""
    grant = Grant.model_validate({"grant_id": "g1", "subscriber": "hz-centre", "item": "tax_payment_certificate",
                                  "approved_by": "taxation", "purpose": "housing checks",
                                  "fields": ["taxpayer_resident_id", "amount_cents"],
                                  "expires_at": NOW + dt.timedelta(days=30)})
    decision = authorise_items(_subscription(["taxpayer_resident_id", "amount_cents"]), CATALOGUE, [grant], NOW,
                               "govbus", 1).decide("tax_payment_certificate")
    assert decision.plan is not None
    return decision.plan, decision.key_fields


def _subscription(fields: list[str]) -> Subscription:
    return Subscription.model_validate({
        "name": "hz", "subscriber": "hz-centre", "items": [{"item": "tax_payment_certificate", "fields": fields}],
        "delivery": {"kind": "webhook", "url": "http://127.0.0.1:1/x", "secret_env": "HZ_TEST_SECRET"}})


def test_rotating_the_signing_secret_changes_the_signature_and_no_pseudonym() -> None:
    plan, key_fields = _tax_plan()
    event = {"event_id": "e-1", "data_item": "tax_payment_certificate", "department": "taxation",
             "operation": "UPSERT", "record_key": "CERT-1", "occurred_at": NOW, "published_at": NOW, "trace_id": "t",
             "record": {"certificate_number": "CERT-1", "taxpayer_resident_id": RESIDENT_ID, "amount_cents": 5}}
    shaped = shape_event(event, plan, key_fields, PseudonymKey(PLATFORM_KEY).for_subscriber("hz-centre"))
    assert shaped.body["record"]["taxpayer_resident_id"] == "110101********1239"
    key, body = batch_body("hz", "hz-centre", [shaped])
    before, after = (sign([secret], key, body, 1_800_000_000) for secret in (b"o" * 32, b"n" * 32))
    assert before != after, "the signing secret signs the body"
    assert shaped.body["record_key"] == SubscriberPseudonyms(PLATFORM_KEY, "hz-centre").of("tax_payment_certificate",
                                                                                           "CERT-1")
    assert b"CERT-1" not in body, "the body (what the secret signs) holds the pseudonym, made without the secret"


def test_one_setting_in_one_place_shared_by_the_delivery_connectors() -> None:
    assert list(PseudonymSettings.model_fields) == ["pseudonym_key"]
    for settings in (WebhookSettings, KafkaDeliverySettings):
        assert issubclass(settings, PseudonymSettings)
        [row] = [r for r in rows(settings) if r.env == PSEUDONYM_KEY_VARIABLE]
        assert row.secret and row.default == "(none)"
    holders = {name for name, c in COMPONENTS.items() if PSEUDONYM_KEY_VARIABLE in {r.env for r in rows(c.settings)}}
    assert holders == {"webhook", "kafka-delivery"}
    shown = CliRunner().invoke(main, ["config", "webhook"], env={PSEUDONYM_KEY_VARIABLE: PLATFORM_KEY,
                                                                 "COLUMNS": "250"})
    assert shown.exit_code == 0 and PSEUDONYM_KEY_VARIABLE in shown.output and PLATFORM_KEY not in shown.output


class _Store:
    def __init__(self, subscription: Subscription) -> None:
        self.snapshot = SharingSnapshot({subscription.name: subscription}, {})

    def load(self) -> SharingSnapshot:
        return self.snapshot


def test_a_webhook_that_would_need_pseudonyms_refuses_to_start_without_the_key(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HZ_TEST_SECRET", RECEIVERS_SECRET)
    monkeypatch.delenv(PSEUDONYM_KEY_VARIABLE, raising=False)
    store = _Store(Subscription.model_validate({  # enterprises without their key (uscc): pseudonyms needed
        "name": "hz", "subscriber": "hz-centre", "items": [{"item": "enterprise_registration", "fields": ["name"]}],
        "delivery": {"kind": "webhook", "url": "http://127.0.0.1:1/x", "secret_env": "HZ_TEST_SECRET"}}))
    settings = WebhookSettings(webhook_subscription="hz")
    with pytest.raises(ConfigurationError) as refused:
        WebhookConnector(settings, CATALOGUE, store=store)  # type: ignore[arg-type]
    message = str(refused.value)
    assert f"no pseudonym key is set ({PSEUDONYM_KEY_VARIABLE})" in message and "uscc" in message
    assert "openssl rand -hex 32" in message and RECEIVERS_SECRET not in message
