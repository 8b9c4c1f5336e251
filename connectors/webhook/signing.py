"""Signing webhook requests: HMAC-SHA256 over ``timestamp + "." + body`` with the subscriber's secret.

Headers of every request (see ``connectors/webhook/README.md`` for a receiver's side):

- ``X-Govbus-Timestamp``: Unix time in whole seconds when this attempt was signed;
- ``X-Govbus-Signature``: ``v1=<hex digest>``, the HMAC-SHA256 of ``f"{timestamp}.".encode() + body``
  keyed by the secret's UTF-8 bytes. Several comma-separated ``v1=`` entries may appear (a receiver
  accepts the request when any one matches), so a secret can be rotated without a gap.

Each attempt is signed afresh, so a receiver can refuse requests older than a few minutes (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence

TIMESTAMP_HEADER = "X-Govbus-Timestamp"
SIGNATURE_HEADER = "X-Govbus-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``timestamp.body`` keyed by ``secret``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secrets: Sequence[str], body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The two signature headers for ``body``, one ``v1=`` entry per secret (current one first)."""
    when = int(time.time()) if timestamp is None else timestamp
    entries = ",".join(f"{SCHEME}={signature(secret, when, body)}" for secret in secrets)
    return {TIMESTAMP_HEADER: str(when), SIGNATURE_HEADER: entries}


def verify(secret: str, headers: Mapping[str, str], body: bytes, *,
           tolerance: float = DEFAULT_TOLERANCE_SECONDS, now: float | None = None) -> bool:
    """Whether ``headers`` carry a valid, recent signature of ``body`` (the receiver's check)."""
    try:
        timestamp = int(headers[TIMESTAMP_HEADER])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    offered = [entry.strip()[len(SCHEME) + 1:] for entry in headers.get(SIGNATURE_HEADER, "").split(",")
               if entry.strip().startswith(f"{SCHEME}=")]
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)
