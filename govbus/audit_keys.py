"""The Ed25519 keys the delivery audit is signed and verified with (:mod:`govbus.audit_chain`).

Why Ed25519 and not an HMAC key held by the platform: the chain must show tampering by anyone who may
write the audit topic but holds no key (a stolen connector credential, a broker administrator, whoever
edits an archived copy). An HMAC would do that too, but whoever verifies would then hold the very key that
makes records, so every operator or auditor running ``govbus audit verify`` could forge a whole chain.
With a signature the connectors hold the private key and the verifiers only the public one.

One settings field, ``GOVBUS_AUDIT_KEY_FILE``, names a PEM file: a connector's private key (mode 0600,
else refused) signs; ``govbus audit verify`` trusts the public key of that file, which may hold the
public key only (what an auditor is given). ``govbus dev up`` makes a pair once, ``<home>/dev/audit.key``
and ``<home>/dev/audit.pub``; elsewhere ``openssl genpkey -algorithm ed25519 -out audit.key`` and
``openssl pkey -in audit.key -pubout -out audit.pub`` make one. Each connector may have a key of its own:
``verify --public-key`` then takes every public key. Keys are never printed or logged; a record names
its key by :func:`key_id`, the first 16 hex digits of the SHA-256 of the raw public key.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import Field

from govbus.exceptions import ConfigurationError
from govbus.settings import GovbusSettings

KEY_FILE_VARIABLE = "GOVBUS_AUDIT_KEY_FILE"
PRIVATE_FILE = "audit.key"
HOW_TO_MAKE_ONE = ("make one with `openssl genpkey -algorithm ed25519 -out audit.key` (mode 0600), its public half "
                   "with `openssl pkey -in audit.key -pubout -out audit.pub`; `govbus dev up` makes both in "
                   "<home>/dev/")


def key_id(public: Ed25519PublicKey) -> str:
    """The name of ``public`` in audit records: 16 hex digits of the SHA-256 of its 32 raw bytes."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


class SigningKey:
    """A connector's private key; signs audit records. Its bytes are never shown."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = VerifyKey(private.public_key())

    @property
    def key_id(self) -> str:
        return self.public.key_id

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def __repr__(self) -> str:
        return f"SigningKey({self.key_id})"


class VerifyKey:
    """A public key ``govbus audit verify`` trusts."""

    def __init__(self, public: Ed25519PublicKey) -> None:
        self._public = public
        self.key_id = key_id(public)

    def verifies(self, signature: bytes, message: bytes) -> bool:
        try:
            self._public.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def pem(self) -> bytes:
        return self._public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def __repr__(self) -> str:
        return f"VerifyKey({self.key_id})"


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise ConfigurationError(f"cannot read the audit key file {path}: {error.strerror}; "
                                 f"{HOW_TO_MAKE_ONE}") from None


def load_signing_key(path: Path) -> SigningKey:
    """The private key in ``path``; :class:`ConfigurationError` if others may read it or it is no Ed25519 key."""
    data = _read(path)
    if path.stat().st_mode & 0o077:
        raise ConfigurationError(f"{path} may be read by other users than its owner: `chmod 600 {path}` (and consider "
                                 "the key known: make a new one; records signed with the old one still verify "
                                 "against its public key)")
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigurationError(f"{path} holds no unencrypted PEM private key: {HOW_TO_MAKE_ONE}") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise ConfigurationError(f"{path} holds a private key of another kind than Ed25519: {HOW_TO_MAKE_ONE}")
    return SigningKey(private)


def load_verify_key(path: Path) -> VerifyKey:
    """The public key of ``path``: a PEM public key, or the public half of a PEM private key."""
    data = _read(path)
    if b"PRIVATE KEY" in data:
        return load_signing_key(path).public
    try:
        public = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigurationError(f"{path} holds no PEM public (or private) key: {HOW_TO_MAKE_ONE}") from None
    if not isinstance(public, Ed25519PublicKey):
        raise ConfigurationError(f"{path} holds a public key of another kind than Ed25519: {HOW_TO_MAKE_ONE}")
    return VerifyKey(public)


def public_file(private_path: Path) -> Path:
    """Where :func:`load_or_create` puts the public half of ``private_path``."""
    return private_path.with_suffix(".pub")


def load_or_create(private_path: Path) -> SigningKey:
    """The key pair in ``private_path`` (mode 0600) and its public half beside it (``audit.key`` -> ``audit.pub``),
    made if the private one does not exist yet; kept afterwards (records signed with it verify only against its
    public half)."""
    public_path = public_file(private_path)
    if not private_path.exists():
        private_path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        try:
            descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # made meanwhile by another process: use that one
            return load_signing_key(private_path)
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
    key = load_signing_key(private_path)
    if not public_path.exists():
        public_path.write_bytes(key.public.pem())
    return key


class AuditKeySettings(GovbusSettings):
    """The one setting of the audit key, shared by every delivery connector's settings model."""

    audit_key_file: Path | None = Field(
        default=None, description="PEM file of the Ed25519 private key (mode 0600) this connector signs its audit "
                                  "records with; without one they are chained but unsigned, and `govbus audit "
                                  "verify` reports them (`govbus dev up` makes one in <home>/dev/audit.key)")

    def audit_signing_key(self) -> SigningKey | None:
        """The key, or None when none is set; :class:`ConfigurationError` when it cannot be used."""
        return load_signing_key(self.audit_key_file) if self.audit_key_file is not None else None
