"""Webhook signing secrets: what the variable a subscription's ``delivery.secret_env`` names holds.

- ``whsec_<base64>``: a Standard Webhooks secret, 24 to 64 random bytes in base64 after the prefix; those bytes
  are the HMAC key. ``govbus subscriptions secret`` prints a new one (32 bytes, :func:`new_secret`).
- Several secrets separated by spaces while one is rotated (``"whsec_NEW whsec_OLD"``): every request is signed
  with each (``webhook-signature`` holds one entry per secret, the first one's first), so a receiver holding
  either verifies; drop the old one once the receiver has the new one.
- A **plain** secret (anything without the prefix: govbus's secrets before Standard Webhooks) stands for its
  UTF-8 bytes, as it always did. It is taken only with ``GOVBUS_WEBHOOK_SIGNATURE_SCHEME=both``, the transition
  during which the old ``X-Govbus-*`` headers are sent too; the default scheme refuses it, saying how to make a
  ``whsec_`` secret (so upgrading a connector whose receiver still checks the old headers stops it with that
  message, instead of sending requests its receiver refuses). A value holding no ``whsec_`` secret at all is
  one plain secret, spaces included, read exactly as before.

Error messages name the variable, never its value.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets

from connectors.webhook.exceptions import SigningSecretError
from connectors.webhook.signing import SignatureScheme
from govbus.sharing.model import Subscription

PREFIX = "whsec_"
MIN_BYTES = 24
MAX_BYTES = 64
NEW_SECRET_BYTES = 32
MAKE_ONE = ("make one with `govbus subscriptions secret`, give it to the receiver (it verifies with a Standard "
            "Webhooks library), and put it in")


def new_secret() -> str:
    """A new Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return PREFIX + base64.b64encode(secrets.token_bytes(NEW_SECRET_BYTES)).decode()


def standard_key(secret: str, variable: str) -> bytes:
    """The key bytes of ``whsec_<base64>`` (padding optional, as the libraries read it)."""
    text = secret[len(PREFIX):]
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as error:
        raise SigningSecretError(f"a secret in {variable} starts with {PREFIX} but the rest is not base64; "
                                 f"{MAKE_ONE} {variable}") from error
    if not MIN_BYTES <= len(key) <= MAX_BYTES:
        raise SigningSecretError(f"a secret in {variable} holds {len(key)} bytes; a Standard Webhooks secret holds "
                                 f"{MIN_BYTES} to {MAX_BYTES} random bytes: {MAKE_ONE} {variable}")
    return key


def read_keys(value: str, variable: str, scheme: SignatureScheme) -> tuple[bytes, ...]:
    """The signing keys ``value`` (the content of ``variable``) holds, the current one first."""
    words = value.split()
    if not any(word.startswith(PREFIX) for word in words):
        words = [value] if value else []
    if not words:
        raise SigningSecretError(f"environment variable {variable} (the webhook signing secret) is not set or "
                                 f"empty: {MAKE_ONE} {variable}")
    plain = [word for word in words if not word.startswith(PREFIX)]
    if plain and scheme is not SignatureScheme.BOTH:
        raise SigningSecretError(
            f"{variable} holds a plain signing secret, which signed the old X-Govbus-Signature header; webhooks are "
            f"now signed per Standard Webhooks, with whsec_ secrets: {MAKE_ONE} {variable}. While the receiver "
            f"still checks X-Govbus-Signature, set GOVBUS_WEBHOOK_SIGNATURE_SCHEME=both and put the new secret "
            f"first, then the plain one, in {variable} (see connectors/webhook/README.md, \"Migrating\")")
    return tuple(standard_key(word, variable) if word.startswith(PREFIX) else word.encode() for word in words)


def signing_keys(subscription: Subscription, scheme: SignatureScheme) -> tuple[bytes, ...]:
    """The keys of the secrets in the variable ``subscription`` names; a clear error if there are none."""
    variable = subscription.delivery.secret_env
    if not variable:
        raise SigningSecretError(f"subscription {subscription.name!r} names no delivery.secret_env: every webhook "
                                 "request is signed; add the variable's name to the subscription")
    return read_keys(os.environ.get(variable, ""), variable, scheme)
