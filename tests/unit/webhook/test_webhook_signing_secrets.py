"""What the secret variable may hold: whsec_ secrets (one, or several while rotating), plain ones only during the
transition; every refusal names the variable, says how to make a whsec_ secret and never shows the value."""

from __future__ import annotations

import base64

import pytest
from click.testing import CliRunner
from standardwebhooks.webhooks import Webhook

from connectors.webhook.exceptions import SigningSecretError
from connectors.webhook.signing import SignatureScheme, sign
from connectors.webhook.signing_secrets import MAX_BYTES, MIN_BYTES, new_secret, read_keys, signing_keys
from govbus.cli import main
from govbus.exceptions import ConfigurationError
from govbus.sharing.model import Subscription

STANDARD, BOTH = SignatureScheme.STANDARD, SignatureScheme.BOTH


def whsec(raw: bytes, padded: bool = True) -> str:
    text = base64.b64encode(raw).decode()
    return "whsec_" + (text if padded else text.rstrip("="))


def test_a_new_secret_is_32_random_bytes_the_library_takes() -> None:
    first, second = new_secret(), new_secret()
    assert first != second and first.startswith("whsec_")
    [key] = read_keys(first, "V", STANDARD)
    assert key == base64.b64decode(first[6:]) and len(key) == 32
    body = b'{"events":[]}'
    assert Webhook(first).verify(body, sign(read_keys(first, "V", STANDARD), "batch", body)) == {"events": []}


def test_the_cli_prints_a_new_secret() -> None:
    shown = CliRunner().invoke(main, ["subscriptions", "secret"])
    assert shown.exit_code == 0 and shown.output.startswith("whsec_") and len(read_keys(shown.output.strip(), "V",
                                                                                            STANDARD)[0]) == 32


def test_several_secrets_are_read_in_order_separated_by_spaces_padding_optional() -> None:
    new, old = b"n" * 32, b"o" * 25
    assert read_keys(f"  {whsec(new)}\t{whsec(old, padded=False)} ", "V", STANDARD) == (new, old)


@pytest.mark.parametrize(("value", "why"), [
    (whsec(b"s" * (MIN_BYTES - 1)), f"holds {MIN_BYTES - 1} bytes"),
    (whsec(b"s" * (MAX_BYTES + 1)), f"holds {MAX_BYTES + 1} bytes"),
    ("whsec_not*base64!", "is not base64"),
    ("", "is not set or empty")])
def test_a_secret_that_is_no_standard_webhooks_secret_is_refused(value: str, why: str) -> None:
    with pytest.raises(SigningSecretError, match=why) as refused:
        read_keys(value, "HZ_SECRET", BOTH)
    assert "govbus subscriptions secret" in str(refused.value) and "HZ_SECRET" in str(refused.value)
    assert isinstance(refused.value, ConfigurationError)


def test_a_plain_secret_is_refused_by_the_standard_scheme_saying_how_to_migrate() -> None:
    for value in ("the-old-plain-secret", f"{whsec(b'n' * 32)} the-old-plain-secret"):
        with pytest.raises(SigningSecretError) as refused:
            read_keys(value, "HZ_SECRET", STANDARD)
        message = str(refused.value)
        assert "the-old-plain-secret" not in message
        assert "govbus subscriptions secret" in message and "GOVBUS_WEBHOOK_SIGNATURE_SCHEME=both" in message


def test_the_transition_takes_a_plain_secret_as_its_utf8_bytes_spaces_included_when_alone() -> None:
    assert read_keys("an old secret with spaces", "V", BOTH) == (b"an old secret with spaces",)
    assert read_keys(f"{whsec(b'n' * 32)} plain-old", "V", BOTH) == (b"n" * 32, b"plain-old")


def test_the_subscription_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    def subscription(secret_env: str | None) -> Subscription:
        return Subscription.model_validate({
            "name": "hz", "subscriber": "hz-centre", "items": [{"item": "enterprise_registration", "fields": ["uscc"]}],
            "delivery": {"kind": "webhook", "url": "http://127.0.0.1:1/x", "secret_env": secret_env}})

    secret = new_secret()
    monkeypatch.setenv("HZ_TEST_SECRET", secret)
    assert signing_keys(subscription("HZ_TEST_SECRET"), STANDARD) == (base64.b64decode(secret[6:]),)
    monkeypatch.delenv("HZ_TEST_SECRET")
    with pytest.raises(SigningSecretError, match=r"HZ_TEST_SECRET .* is not set"):
        signing_keys(subscription("HZ_TEST_SECRET"), STANDARD)
    with pytest.raises(SigningSecretError, match=r"names no delivery\.secret_env"):
        signing_keys(subscription(None), STANDARD)
