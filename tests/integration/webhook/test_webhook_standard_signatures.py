"""Standard Webhooks signatures on real deliveries (issue #13, point 3), checked with the specification's library.

Every webhook test's receiver verifies with ``standardwebhooks`` (``webhook_support.SigningReceiver``); here the
headers themselves: the migration's first step (a new whsec_ secret and the old plain one, scheme ``both``) signs
every request both ways with both secrets, a retried batch keeps its ``webhook-id``, and the library refuses a
tampered body or an old timestamp. A connector still holding a plain secret under the default scheme refuses to
start, saying what to do, and sends nothing."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from webhook_support import SECRET_ENV, Behaviour, CanonicalWriter, SigningReceiver, subscription, wait_for

from connectors.webhook.signing_secrets import new_secret
from govbus.demo.synthetic_items import records_for
from govbus.platform.components import Component
from govbus.platform.processes import free_port
from govbus.sharing.store import SharingStore

ITEM = "enterprise_registration"
FIELDS = ["uscc", "name", "status"]


def legacy_verify(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    """What a receiver not yet migrated runs: the README's check of X-Govbus-Signature before Standard Webhooks."""
    lower = {k.lower(): v for k, v in headers.items()}
    timestamp = lower.get("x-govbus-timestamp", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, entry.strip()[3:])
               for entry in lower.get("x-govbus-signature", "").split(",") if entry.strip().startswith("v1="))


def _publish(writer: CanonicalWriter, count: int) -> set[str]:
    records = [s.record for s in records_for(writer.catalogue.get(ITEM), count, 0.0, seed=21)]
    ids = {writer.write(ITEM, record) for record in records}
    writer.flush()
    return ids


def test_the_transition_signs_every_delivery_both_ways_with_both_secrets_and_a_retry_keeps_its_id(
        sharing: SharingStore, canonical: Callable[..., str], writer: CanonicalWriter,
        connectors: Callable[..., Component]) -> None:
    canonical(ITEM, partitions=1)
    new, plain = new_secret(), f"the-old-plain-secret-{secrets.token_hex(8)}"
    events = _publish(writer, 12)
    with SigningReceiver(new, Behaviour(throttle_first=1, retry_after="0")) as receiver:  # the migrated receiver
        sharing.put_subscription(subscription("sw-both", receiver.url, {"item": ITEM, "fields": FIELDS}))
        connector = connectors("sw-both", free_port(), GOVBUS_WEBHOOK_BATCH_SIZE="5",
                               GOVBUS_WEBHOOK_SIGNATURE_SCHEME="both", **{SECRET_ENV: f"{new} {plain}"})
        wait_for(lambda: set(receiver.received.applied) >= events, 60, "every event applied", connector.log_path)
    got = receiver.received
    assert got.bad_signatures == 0 and [status for _, status in got.requests][:2] == [429, 200]
    assert len(got.signed) >= 4, "a throttled first attempt and at least three batches of at most 5"
    signed = [({k.lower(): v for k, v in headers.items()}, body) for headers, body in got.signed]
    for headers, body in signed:
        batch = Webhook(new).verify(body, headers)  # the library verifies with the new secret
        assert Webhook(plain.encode()).verify(body, headers) == batch, "and with the old secret's bytes"
        assert legacy_verify(plain, headers, body), "an old receiver verifies X-Govbus-Signature unchanged"
        assert headers["webhook-id"] == headers["idempotency-key"] == batch["batch_key"]
        assert headers["webhook-timestamp"] == headers["x-govbus-timestamp"]
        assert len(headers["webhook-signature"].split(" ")) == 2, "one signature per secret"
    (first_headers, first_body), (retry_headers, retry_body) = signed[:2]
    assert retry_body == first_body and retry_headers["webhook-id"] == first_headers["webhook-id"], \
        "the retried batch is the same message"

    headers, body = signed[-1]
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(new).verify(body.replace(b'"status":"', b'"status":"X'), headers)
    old = {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) - 600)}
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(new).verify(body, old)


def test_a_plain_secret_under_the_default_scheme_stops_the_connector_before_it_sends_anything(
        sharing: SharingStore, canonical: Callable[..., str], writer: CanonicalWriter,
        connectors: Callable[..., Component]) -> None:
    canonical(ITEM, partitions=1)
    _publish(writer, 2)
    plain = f"the-old-plain-secret-{secrets.token_hex(8)}"
    with SigningReceiver(new_secret()) as receiver:
        sharing.put_subscription(subscription("sw-plain", receiver.url, {"item": ITEM, "fields": FIELDS}))
        connector = connectors("sw-plain", free_port(), **{SECRET_ENV: plain})
        wait_for(lambda: not connector.alive(), 60, "the connector to refuse to start", connector.log_path)
        assert receiver.received.requests == []
    log = Path(connector.log_path).read_text(errors="replace")
    assert "holds a plain signing secret" in log and "govbus subscriptions secret" in log
    assert "GOVBUS_WEBHOOK_SIGNATURE_SCHEME=both" in log and plain not in log
