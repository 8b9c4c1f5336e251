"""The chain that makes the delivery audit tamper-evident: each record links to the one before it and is signed.

Every :class:`~govbus.audit.AuditWriter` (one per connector process) writes one chain. Each record carries

``link``: ``{"chain": ID, "seq": N, "prev": DIGEST, "key": KEY_ID, "sig": SIGNATURE}``

- ``chain``: 16 hex digits, random, new at each start of the connector;
- ``seq``: 0 for the chain's first record, then 1, 2, ... without gaps;
- ``prev``: :func:`digest` of the chain's record before it (null at seq 0);
- ``key``: the signing key's id (:func:`govbus.audit_keys.key_id`), null when the connector has none;
- ``sig``: base64 of the Ed25519 signature of :func:`signed_bytes` (absent when unsigned).

**Canonical bytes** of a record: its JSON object with keys sorted at every level, no whitespace, non-ASCII
characters as they are, UTF-8 (:func:`canonical`). The signature covers ``b"govbus-audit-v1\\n"`` followed by
the canonical bytes of the record without ``link.sig``; the digest is the SHA-256 (hex) of the canonical
bytes of the whole record, signature included. A verifier computes both from the parsed JSON, so an archive
that re-indents the records still verifies; changing any value does not.

**A new chain at each start** (explicit: seq 0, no prev) rather than continuing the last one: to find its
last record a connector would have to read the audit topic, which holds every subscriber's record keys, and
a connector's principal may only write it. A connector that sees one of its audit records fail to be stored
starts a new chain too, as its records after that one may be missing. What a new chain cannot show is records
removed from the end of the chain before it; the topic is append-only (no compaction, no retention) and every
chain's first and last record are listed by ``govbus audit verify``, so a chain that ends early is visible
beside its connector's next one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # a reader of the audit needs ChainLink without loading the signature library
    from govbus.audit_keys import SigningKey

DOMAIN = b"govbus-audit-v1\n"
"""what a signature covers starts with this, so no other signed message can pass for an audit record"""


class ChainLink(BaseModel):
    """Where a record stands in its chain, and its signature."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    chain: str = Field(description="the chain's id: random, one per connector start")
    seq: int = Field(ge=0, description="0 for the chain's first record, then one more per record")
    prev: str | None = Field(default=None, description="digest of the chain's record before this one")
    key: str | None = Field(default=None, description="id of the signing key; none when unsigned")
    sig: str | None = Field(default=None, description="base64 Ed25519 signature")


def canonical(document: Any) -> bytes:
    """The canonical bytes of a JSON value (see the module docstring)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def signed_bytes(document: dict[str, Any]) -> bytes:
    """What the signature of ``document`` (a record with its link) covers: everything but ``link.sig``."""
    link = dict(document.get("link") or {})
    link.pop("sig", None)
    return DOMAIN + canonical({**document, "link": link})


def digest(document: dict[str, Any]) -> str:
    """The digest the next record of the chain carries as its ``prev``."""
    return hashlib.sha256(canonical(document)).hexdigest()


def encode_signature(signature: bytes) -> str:
    return base64.b64encode(signature).decode("ascii")


def decode_signature(text: str) -> bytes | None:
    """The signature's bytes, or None if ``text`` is not base64."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        return None


class Chain:
    """One writer's chain: links and signs the records it is given, in the order it is given them."""

    def __init__(self, key: SigningKey | None) -> None:
        self._key = key
        self.chain_id = ""
        self.seq = 0
        self._prev: str | None = None
        self.restart()

    @property
    def signed(self) -> bool:
        return self._key is not None

    def restart(self) -> None:
        """Begin a new chain (seq 0, no prev): at a start, or after a record may have been lost."""
        self.chain_id = uuid.uuid4().hex[:16]
        self.seq = 0
        self._prev = None

    def seal(self, body: dict[str, Any]) -> bytes:
        """The stored bytes of the record ``body`` (its JSON object, without a link): linked and signed."""
        link: dict[str, Any] = {"chain": self.chain_id, "seq": self.seq, "prev": self._prev,
                                "key": self._key.key_id if self._key is not None else None}
        document = {**body, "link": link}
        if self._key is not None:
            link["sig"] = encode_signature(self._key.sign(signed_bytes(document)))
        value = canonical(document)
        self._prev = hashlib.sha256(value).hexdigest()
        self.seq += 1
        return value
