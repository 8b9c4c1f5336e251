"""The signature scheme is Standard Webhooks, checked with the specification's own library (``standardwebhooks``);
the transition scheme also carries the old headers; the README's verification snippet agrees with the connector."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from connectors.webhook.signing import (
    ID_HEADER,
    LEGACY_SIGNATURE_HEADER,
    LEGACY_TIMESTAMP_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureScheme,
    Signer,
    sign,
)
from connectors.webhook.signing_secrets import read_keys

README = Path(__file__).resolve().parents[3] / "connectors" / "webhook" / "README.md"
BODY = '{"batch_key":"ab12","events":[{"event_id":"e1","record":{"name":"王**"}}]}'.encode()
MESSAGE_ID = "5f1c" * 16
SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
OTHER = "whsec_" + base64.b64encode(b"o" * 32).decode()


def key(secret: str) -> bytes:
    [only] = read_keys(secret, "TEST_SECRET", SignatureScheme.BOTH)
    return only


def legacy_verify(secret: str, headers: Mapping[str, str], body: bytes, tolerance: int = 300) -> bool:
    """An old receiver's check of X-Govbus-Signature: the README's snippet before Standard Webhooks."""
    timestamp = headers.get(LEGACY_TIMESTAMP_HEADER, "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, entry.strip()[3:])
               for entry in headers.get(LEGACY_SIGNATURE_HEADER, "").split(",") if entry.strip().startswith("v1="))


def readme_verifier() -> Callable[[str, Mapping[str, str], bytes], Any]:
    """``verified_batch`` as the README gives it to receivers (the snippet is executed as written)."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    snippet = next(b for b in blocks if "def verified_batch" in b)
    namespace: dict[str, Any] = {}
    exec(compile(snippet, str(README), "exec"), namespace)  # our own README's snippet
    verifier: Callable[[str, Mapping[str, str], bytes], Any] = namespace["verified_batch"]
    return verifier


def test_the_headers_are_standard_webhooks_and_the_library_computes_the_same_signature() -> None:
    headers = sign([key(SECRET)], MESSAGE_ID, BODY, timestamp=1_800_000_000)
    assert set(headers) == {ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER}
    assert headers[ID_HEADER] == MESSAGE_ID and headers[TIMESTAMP_HEADER] == "1800000000"
    by_library = Webhook(SECRET).sign(MESSAGE_ID, dt.datetime.fromtimestamp(1_800_000_000, dt.UTC), BODY)
    digest = hmac.new(b"k" * 32, f"{MESSAGE_ID}.1800000000.".encode() + BODY, hashlib.sha256).digest()
    assert headers[SIGNATURE_HEADER] == by_library == f"v1,{base64.b64encode(digest).decode()}"


def test_the_library_verifies_a_fresh_signature_and_refuses_a_tampered_body_another_secret_or_an_old_one() -> None:
    headers = sign([key(SECRET)], MESSAGE_ID, BODY)
    assert Webhook(SECRET).verify(BODY, headers)["events"][0]["event_id"] == "e1"
    for body, secret, signed, why in [
            (BODY.replace(b"e1", b"e2"), SECRET, headers, "No matching signature"),
            (BODY, OTHER, headers, "No matching signature"),
            (BODY, SECRET, {**headers, ID_HEADER: "another-batch"}, "No matching signature"),
            (BODY, SECRET, sign([key(SECRET)], MESSAGE_ID, BODY, timestamp=int(time.time()) - 600), "too old")]:
        with pytest.raises(WebhookVerificationError, match=why):
            Webhook(secret).verify(body, signed)


def test_during_a_rotation_each_secret_signs_and_either_verifies() -> None:
    headers = sign([key(OTHER), key(SECRET)], MESSAGE_ID, BODY)
    entries = headers[SIGNATURE_HEADER].split(" ")
    assert len(entries) == 2 and all(e.startswith("v1,") for e in entries)
    assert Webhook(OTHER).verify(BODY, headers) == Webhook(SECRET).verify(BODY, headers)


def test_both_adds_the_old_headers_made_with_the_plain_secret_exactly_as_before() -> None:
    keys = read_keys(f"{SECRET} the-plain-secret", "TEST_SECRET", SignatureScheme.BOTH)
    headers = Signer(keys, SignatureScheme.BOTH).headers(MESSAGE_ID, BODY)
    assert headers[LEGACY_TIMESTAMP_HEADER] == headers[TIMESTAMP_HEADER]
    assert headers[LEGACY_SIGNATURE_HEADER].count("v1=") == 2
    assert legacy_verify("the-plain-secret", headers, BODY)
    assert not legacy_verify("the-plain-secret", headers, BODY + b" ")
    assert Webhook(SECRET).verify(BODY, headers) and Webhook(b"the-plain-secret").verify(BODY, headers)
    assert LEGACY_SIGNATURE_HEADER not in Signer(keys).headers(MESSAGE_ID, BODY), "standard sends the new ones only"


def test_a_message_id_with_a_full_stop_is_refused() -> None:
    with pytest.raises(ValueError, match="full stop"):
        sign([key(SECRET)], "a.b", BODY)


def test_the_readme_snippet_verifies_what_the_connector_signs() -> None:
    verified_batch = readme_verifier()
    headers = sign([key(OTHER), key(SECRET)], MESSAGE_ID, BODY)
    assert verified_batch(SECRET, headers, BODY)["batch_key"] == "ab12"
    assert verified_batch(SECRET, {k.upper(): v for k, v in headers.items()}, BODY) is not None
    assert verified_batch(SECRET, headers, BODY[:-1]) is None
    assert verified_batch("whsec_" + base64.b64encode(b"x" * 32).decode(), headers, BODY) is None
    stale = sign([key(SECRET)], MESSAGE_ID, BODY, timestamp=1_000_000_000)
    assert verified_batch(SECRET, stale, BODY) is None
    assert verified_batch(SECRET, {**headers, TIMESTAMP_HEADER: "not-a-number"}, BODY) is None
    assert verified_batch(SECRET, {k: v for k, v in headers.items() if k != ID_HEADER}, BODY) is None
