"""The signature scheme, and the README's verification snippet agreeing with it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from connectors.webhook.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, signature, verify

README = Path(__file__).resolve().parents[3] / "connectors" / "webhook" / "README.md"
BODY = '{"events":[{"event_id":"e1","record":{"name":"王**"}}]}'.encode()


def readme_verifier() -> Callable[..., bool]:
    """``verify_govbus_signature`` as the README defines it (the snippet is executed as written)."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    snippet = next(b for b in blocks if "def verify_govbus_signature" in b)
    namespace: dict[str, Any] = {}
    exec(compile(snippet, str(README), "exec"), namespace)  # our own README's snippet
    verifier: Callable[..., bool] = namespace["verify_govbus_signature"]
    return verifier


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    headers = sign(["s3cret"], BODY, timestamp=1_800_000_000)
    assert headers[TIMESTAMP_HEADER] == "1800000000"
    expected = hmac.new(b"s3cret", b"1800000000." + BODY, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == f"v1={expected}" == f"v1={signature('s3cret', 1_800_000_000, BODY)}"


def test_verify_accepts_the_signed_body_only_and_only_while_fresh() -> None:
    headers = sign(["s3cret"], BODY, timestamp=1_800_000_000)
    assert verify("s3cret", headers, BODY, now=1_800_000_100)
    assert not verify("s3cret", headers, BODY + b" ", now=1_800_000_100)
    assert not verify("other", headers, BODY, now=1_800_000_100)
    assert not verify("s3cret", headers, BODY, now=1_800_000_000 + 301)
    assert not verify("s3cret", {SIGNATURE_HEADER: headers[SIGNATURE_HEADER]}, BODY, now=1_800_000_000)


def test_several_secrets_sign_with_one_entry_each_and_any_verifies() -> None:
    headers = sign(["new", "old"], BODY, timestamp=1_800_000_000)
    assert headers[SIGNATURE_HEADER].count("v1=") == 2
    assert verify("old", headers, BODY, now=1_800_000_000) and verify("new", headers, BODY, now=1_800_000_000)


def test_the_readme_snippet_verifies_what_the_connector_signs() -> None:
    verify_snippet = readme_verifier()
    headers = sign(["s3cret"], BODY)
    assert verify_snippet("s3cret", headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], BODY)
    assert not verify_snippet("s3cret", headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], BODY[:-1])
    assert not verify_snippet("wrong", headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], BODY)
    stale = sign(["s3cret"], BODY, timestamp=1_000_000_000)
    assert not verify_snippet("s3cret", stale[TIMESTAMP_HEADER], stale[SIGNATURE_HEADER], BODY)
    assert not verify_snippet("s3cret", "not-a-number", headers[SIGNATURE_HEADER], BODY)
    rotated = sign(["next", "s3cret"], BODY)
    assert verify_snippet("s3cret", rotated[TIMESTAMP_HEADER], rotated[SIGNATURE_HEADER], BODY)
