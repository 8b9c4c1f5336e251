"""Signing webhook requests per the Standard Webhooks specification (https://www.standardwebhooks.com).

Headers of every request (see ``connectors/webhook/README.md`` for a receiver's side):

- ``webhook-id``: the message id, the batch key (``Idempotency-Key``): the same on every attempt of a batch,
  and on a redelivery of the same events, so a receiver may drop a repeat by it;
- ``webhook-timestamp``: Unix time in whole seconds when this attempt was signed;
- ``webhook-signature``: ``v1,<base64>``, the HMAC-SHA256 of ``f"{id}.{timestamp}.".encode() + body``, one
  space-separated entry per signing key (the current one first), so a secret can be rotated without a gap.

Each attempt is signed afresh, so a receiver refuses requests older than a few minutes (replays). With
:attr:`SignatureScheme.BOTH` (a transition setting) each request also carries the headers of govbus's own
scheme, verified by receivers not yet migrated:

- ``X-Govbus-Timestamp``: the same timestamp;
- ``X-Govbus-Signature``: comma-separated ``v1=<hex>`` entries, the HMAC-SHA256 of ``f"{timestamp}.".encode() +
  body``, one per key.

A key is the bytes a secret stands for (:mod:`connectors.webhook.signing_secrets`): both schemes use the same
keys, so a plain secret signs the old headers exactly as it always did.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
LEGACY_TIMESTAMP_HEADER = "X-Govbus-Timestamp"
LEGACY_SIGNATURE_HEADER = "X-Govbus-Signature"
VERSION = "v1"


class SignatureScheme(StrEnum):
    """Which headers a request carries: Standard Webhooks only, or those and govbus's own (a transition)."""

    STANDARD = "standard"
    BOTH = "both"


def standard_signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of id.timestamp.body>``: one entry of ``webhook-signature``."""
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return f"{VERSION},{base64.b64encode(digest).decode()}"


def legacy_signature(key: bytes, timestamp: int, body: bytes) -> str:
    """``v1=<hex HMAC-SHA256 of timestamp.body>``: one entry of ``X-Govbus-Signature`` (the old scheme)."""
    return f"{VERSION}={hmac.new(key, f'{timestamp}.'.encode() + body, hashlib.sha256).hexdigest()}"


@dataclass(frozen=True)
class Signer:
    """Signs requests with ``keys`` (the current one first) under ``scheme``."""

    keys: tuple[bytes, ...]
    scheme: SignatureScheme = SignatureScheme.STANDARD

    def __post_init__(self) -> None:
        if not self.keys or not all(self.keys):
            raise ValueError("a signer needs at least one key, and no empty one")

    def headers(self, message_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The signature headers of one attempt to send ``body`` as message ``message_id`` (signed now)."""
        if not message_id or "." in message_id:
            raise ValueError(f"a message id is neither empty nor holds a full stop: {message_id!r}")
        when = int(time.time()) if timestamp is None else timestamp
        signed = {ID_HEADER: message_id, TIMESTAMP_HEADER: str(when),
                  SIGNATURE_HEADER: " ".join(standard_signature(k, message_id, when, body) for k in self.keys)}
        if self.scheme is SignatureScheme.BOTH:
            signed[LEGACY_TIMESTAMP_HEADER] = str(when)
            signed[LEGACY_SIGNATURE_HEADER] = ",".join(legacy_signature(k, when, body) for k in self.keys)
        return signed


def sign(keys: Sequence[bytes], message_id: str, body: bytes, timestamp: int | None = None,
         scheme: SignatureScheme = SignatureScheme.STANDARD) -> dict[str, str]:
    """The signature headers of ``body`` (see :meth:`Signer.headers`)."""
    return Signer(tuple(keys), scheme).headers(message_id, body, timestamp)
