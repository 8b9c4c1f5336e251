"""Per-item authorisation kept fresh: one refused item does not stop the others; expiry and revocation
stop delivery of that item; a removed subscription stops the connector."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from connectors.webhook.exceptions import SharingStoreUnavailable, SubscriptionGone
from connectors.webhook.plans import Authoriser, authorise_items
from govbus.exceptions import PlatformError
from govbus.sharing.model import Grant, Subscription
from govbus.sharing.store import SharingSnapshot
from schemas.catalogue import load_catalogue

CATALOGUE = load_catalogue()
NOW = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
SUBSCRIPTION = Subscription.model_validate({
    "name": "hz", "subscriber": "hz-centre",
    "items": [{"item": "enterprise_registration", "fields": ["uscc", "name"]},
              {"item": "tax_payment_certificate", "fields": ["certificate_number", "taxpayer_name"]}],
    "delivery": {"kind": "webhook", "url": "http://127.0.0.1:1/x", "secret_env": "X"}})


def _grant(**changes: object) -> Grant:
    values: dict[str, object] = {"grant_id": "g1", "subscriber": "hz-centre", "item": "tax_payment_certificate",
                                 "approved_by": "taxation", "purpose": "housing checks",
                                 "fields": ["certificate_number", "taxpayer_name"],
                                 "expires_at": NOW.replace(year=2030)}
    return Grant.model_validate({**values, **changes})


def test_each_item_is_decided_on_its_own() -> None:
    authorisation = authorise_items(SUBSCRIPTION, CATALOGUE, [], NOW, "govbus.t", 1)
    assert authorisation.decide("enterprise_registration").plan is not None
    refused = authorisation.decide("tax_payment_certificate")
    assert refused.plan is None and "needs a grant approved by taxation" in (refused.reason or "")
    assert authorisation.decide("credit_record").reason == "credit_record is no longer part of the subscription"
    assert authorisation.topics == {"govbus.t.canonical.enterprise-registration": "enterprise_registration",
                                    "govbus.t.canonical.tax-payment-certificate": "tax_payment_certificate"}
    assert authorisation.decide("enterprise_registration").key_fields == ("uscc",)


def test_valid_until_is_the_earliest_expiry_of_a_grant_in_use() -> None:
    soon = NOW + dt.timedelta(hours=1)
    authorisation = authorise_items(SUBSCRIPTION, CATALOGUE, [_grant(expires_at=soon)], NOW, "govbus", 1)
    assert authorisation.valid_until == soon
    assert authorisation.decide("tax_payment_certificate").plan is not None


def _snapshot(*grants: Grant) -> SharingSnapshot:
    """The store holding subscription ``hz`` (its subscriber's topic visible) and ``grants``."""
    return SharingSnapshot({"hz": SUBSCRIPTION}, {g.grant_id: g for g in grants}, subscribers={SUBSCRIPTION.subscriber})


class _Store:
    def __init__(self, *grants: Grant) -> None:
        self.snapshot = _snapshot(*grants)

    def load(self) -> SharingSnapshot:
        return self.snapshot


def test_a_revoked_grant_refuses_its_item_after_a_refresh_and_bumps_the_generation() -> None:
    store = _Store(_grant())
    authoriser = Authoriser("hz", store.load, CATALOGUE, "govbus", refresh_seconds=60)
    before = authoriser.current()
    assert before.decide("tax_payment_certificate").plan is not None
    authoriser.refresh()
    assert authoriser.current().generation == before.generation  # nothing changed
    store.snapshot = _snapshot(_grant(revoked=True))
    authoriser.refresh()
    after = authoriser.current()
    assert after.generation == before.generation + 1
    assert "revoked" in (after.decide("tax_payment_certificate").reason or "")
    assert after.decide("enterprise_registration").plan is not None


def test_an_expired_grant_is_noticed_without_a_reload() -> None:
    expiry = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    authoriser = Authoriser("hz", _Store(_grant(expires_at=expiry)).load, CATALOGUE, "govbus", refresh_seconds=60)
    assert authoriser.current().decide("tax_payment_certificate").plan is not None
    later = authoriser.current(expiry + dt.timedelta(seconds=1))
    assert "expired" in (later.decide("tax_payment_certificate").reason or "")


def test_a_removed_subscription_stops_the_connector() -> None:
    store = _Store()
    authoriser = Authoriser("hz", store.load, CATALOGUE, "govbus", refresh_seconds=0.05).start()
    store.snapshot = SharingSnapshot(subscribers={SUBSCRIPTION.subscriber})  # its topic holds the removal
    try:
        deadline = dt.datetime.now() + dt.timedelta(seconds=5)
        while authoriser.gone is None and dt.datetime.now() < deadline:
            time.sleep(0.01)
        with pytest.raises(SubscriptionGone, match="no subscription 'hz'"):
            authoriser.current()
    finally:
        authoriser.stop()
    with pytest.raises(SubscriptionGone):
        Authoriser("nope", _Store().load, CATALOGUE, "govbus", refresh_seconds=60)


class _FailingStore(_Store):
    """Readable at first, then not (the broker away, or the connector's READ ACL on the control topics gone)."""

    def __init__(self) -> None:
        super().__init__(_grant())
        self.readable = True

    def load(self) -> SharingSnapshot:
        if not self.readable:
            raise PlatformError("the broker refused reading the control topics")
        return self.snapshot


def test_an_unreadable_store_keeps_the_last_decisions_for_a_while_then_fails_closed() -> None:
    store = _FailingStore()
    failures: list[int] = []
    authoriser = Authoriser("hz", store.load, CATALOGUE, "govbus", refresh_seconds=0.05,
                            on_refresh_failure=lambda: failures.append(1), stale_after_seconds=0.6).start()
    try:
        store.readable = False
        time.sleep(0.2)
        assert failures and authoriser.current().decide("tax_payment_certificate").plan is not None, "for a while"
        time.sleep(0.6)
        with pytest.raises(SharingStoreUnavailable, match="delivery stops rather than miss a revocation"):
            authoriser.current()
        store.readable = True
        time.sleep(0.2)
        assert authoriser.current().decide("tax_payment_certificate").plan is not None, "readable again: resumes"
    finally:
        authoriser.stop()


def test_a_subscriptions_topic_no_longer_visible_is_a_failure_to_read_not_a_removal() -> None:
    store = _Store(_grant())
    failures: list[int] = []
    authoriser = Authoriser("hz", store.load, CATALOGUE, "govbus", refresh_seconds=0.05,
                            on_refresh_failure=lambda: failures.append(1), stale_after_seconds=0.5).start()
    try:
        store.snapshot = SharingSnapshot()  # the principal's READ on the control topics was deleted
        time.sleep(0.2)
        assert failures and authoriser.gone is None
        time.sleep(0.5)
        with pytest.raises(SharingStoreUnavailable):
            authoriser.current()
    finally:
        authoriser.stop()


def test_decisions_older_than_the_revocation_bound_wait_for_a_reload_that_sees_the_revocation() -> None:
    store = _FailingStore()
    waits: list[float] = []
    authoriser = Authoriser("hz", store.load, CATALOGUE, "govbus", refresh_seconds=0.1,
                            stale_after_seconds=30).start()
    try:
        store.readable = False  # a broker holding a control topic died: reloads fail
        time.sleep(authoriser.revocation_bound_seconds + 0.1)
        store.snapshot = _snapshot(_grant(revoked=True))  # the revocation, stored meanwhile

        def wait(seconds: float) -> None:
            waits.append(seconds)
            if len(waits) == 3:
                store.readable = True  # the partitions have a new leader
            time.sleep(seconds)

        decided = authoriser.in_force(wait)
        assert len(waits) >= 3, "delivery waited while the grants could not be read"
        assert decided.decide("tax_payment_certificate").plan is None, "the first decisions after the wait see it"
    finally:
        authoriser.stop()


def test_fresh_decisions_do_not_wait() -> None:
    authoriser = Authoriser("hz", _Store(_grant()).load, CATALOGUE, "govbus", refresh_seconds=60)
    assert authoriser.in_force(lambda seconds: pytest.fail("waited")).decide("tax_payment_certificate").plan
