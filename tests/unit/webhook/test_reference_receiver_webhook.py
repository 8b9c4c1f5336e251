"""The reference receiver's ``/webhook`` route verifies with the Standard Webhooks library what the connector signs,
refuses anything else with 401, and leaves ``/events`` (the unsigned HTTP push) as it was."""

from __future__ import annotations

import httpx

from connectors.reference_receiver import ReferenceReceiver
from connectors.webhook.payload import batch_body
from connectors.webhook.signing import SignatureScheme, Signer
from connectors.webhook.signing_secrets import new_secret, read_keys


def test_signed_batches_are_applied_once_and_unsigned_or_tampered_ones_refused() -> None:
    secret = new_secret()
    key, body = batch_body("hz", "hz-centre", [])
    signer = Signer(read_keys(secret, "V", SignatureScheme.STANDARD))
    with ReferenceReceiver(secret=secret) as receiver, httpx.Client(timeout=10) as client:
        def post(content: bytes, headers: dict[str, str]) -> int:
            return client.post(receiver.webhook_url, content=content, headers=headers).status_code

        assert post(body, signer.headers(key, body)) == 200
        assert post(body, signer.headers(key, body)) == 200  # a retry: same webhook-id, applied once
        assert post(body + b" ", signer.headers(key, body)) == 401
        assert post(body, {"Idempotency-Key": key}) == 401
        other = Signer(read_keys(new_secret(), "V", SignatureScheme.STANDARD))
        assert post(body, other.headers(key, body)) == 401
        assert client.post(receiver.url, json={"event_id": "e1"}, headers={"Idempotency-Key": "e1"}).status_code == 200
    events = receiver.events
    assert set(events.applied) == {key, "e1"} and events.duplicates == 1 and events.unverified == 3


def test_without_a_secret_the_webhook_route_refuses_everything() -> None:
    secret = new_secret()
    key, body = batch_body("hz", "hz-centre", [])
    headers = Signer(read_keys(secret, "V", SignatureScheme.STANDARD)).headers(key, body)
    with ReferenceReceiver() as receiver:
        assert httpx.post(receiver.webhook_url, content=body, headers=headers, timeout=10).status_code == 401
    assert receiver.events.applied == {}
