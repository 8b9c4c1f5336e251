"""The local platform's TLS material: a private CA and the broker's certificate, made once, kept in one directory.

``govbus dev up`` with ``GOVBUS_TLS=true`` runs the broker's client listener as SASL_SSL. No public CA signs
a certificate for 127.0.0.1, so the platform keeps its own in ``<home>/dev/tls/``:

- ``ca.pem``: the CA's certificate, public: what clients trust (``GOVBUS_KAFKA__TLS_CA``), and the broker's
  trust store (the broker reaches itself over that listener for inter-broker requests);
- ``ca-key.pem`` (mode 0600): the CA's private key, kept so that a renewed broker certificate is signed by
  the CA the clients already trust;
- ``broker.pem`` (mode 0600): the broker's key store as Kafka reads PEM (``ssl.keystore.type=PEM``): its
  private key, PKCS#8 and unencrypted (Kafka takes that when ``ssl.key.password`` is unset: there is then no
  key password to keep beside it, and the file's mode protects the key as it does the credentials file),
  then its certificate and the CA's.

The broker's certificate names where the broker listens, 127.0.0.1 (an IP address entry) and localhost (a DNS
entry), since clients check the host name (librdkafka does by default). Keys are ECDSA P-256: made in
milliseconds, read by Kafka's PEM key store and by OpenSSL. The CA lasts ten years; the broker's certificate a
year, renewed by the same CA when it expires within 30 days, so clients keep their ``ca.pem``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from govbus.exceptions import PlatformError

log = logging.getLogger(__name__)

HOST_NAMES = ("localhost",)
HOST_ADDRESSES = ("127.0.0.1",)
CA_LIFETIME = timedelta(days=3650)
BROKER_LIFETIME = timedelta(days=365)
RENEW_BEFORE = timedelta(days=30)
_CLOCK_SKEW = timedelta(minutes=5)
"""certificates start a little in the past, so a client whose clock is slightly behind still accepts them"""


@dataclass(frozen=True)
class BrokerTls:
    """The files the broker's TLS listener is configured with."""

    ca: Path
    """the CA's certificate (PEM): the broker's trust store and the clients' GOVBUS_KAFKA__TLS_CA"""
    keystore: Path
    """the broker's private key (PKCS#8, unencrypted, mode 0600) and its certificate chain (PEM)"""


def ensure(directory: Path, now: datetime | None = None) -> BrokerTls:
    """The CA and the broker's key store in ``directory``: made when missing, the broker's certificate renewed
    when it expires within :data:`RENEW_BEFORE` (or was not signed by the CA there). :class:`PlatformError`
    when a private key there may be read by other users."""
    now = now or datetime.now(UTC)
    directory.mkdir(parents=True, exist_ok=True)  # not 0700: ca.pem is public, for clients run as other users
    files = BrokerTls(ca=directory / "ca.pem", keystore=directory / "broker.pem")
    ca_key, ca_cert = _ca(files.ca, directory / "ca-key.pem", now)
    if not _current(files.keystore, ca_cert, now):
        key, cert = _new_broker_certificate(ca_key, ca_cert, now)
        chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (cert, ca_cert))
        _write(files.keystore, _pem_key(key) + chain, private=True)
        log.info("issued the broker's TLS certificate", extra={"path": str(files.keystore),
                                                               "expires": cert.not_valid_after_utc.isoformat()})
    return files


def _ca(cert_path: Path, key_path: Path, now: datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """The CA kept in ``cert_path`` and ``key_path``; a new one when either is missing or it expires within the
    renewal margin (clients must then be given the new ``ca.pem``)."""
    if cert_path.exists() and key_path.exists():
        key, cert = _load_private_key(key_path), _load_certificate(cert_path)
        if cert.not_valid_after_utc - now > RENEW_BEFORE:
            return key, cert
    key, cert = _new_ca(now)
    _write(key_path, _pem_key(key), private=True)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), private=False)
    log.info("made the platform's TLS certificate authority", extra={"path": str(cert_path)})
    return key, cert


def _current(keystore: Path, ca_cert: x509.Certificate, now: datetime) -> bool:
    """True when ``keystore`` holds a key and a certificate signed by ``ca_cert`` valid beyond the renewal margin."""
    if not keystore.exists():
        return False
    _require_private(keystore)
    try:
        cert = x509.load_pem_x509_certificates(keystore.read_bytes())[0]
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return cert.not_valid_after_utc - now > RENEW_BEFORE


def _new_ca(now: datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "govbus local platform"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "govbus local platform CA")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW).not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(certificates=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _new_broker_certificate(ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate,
                            now: datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(host) for host in HOST_NAMES]
    names += [x509.IPAddress(ipaddress.ip_address(address)) for address in HOST_ADDRESSES]
    ca_key_id = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "govbus local platform"),
                                 x509.NameAttribute(NameOID.COMMON_NAME, HOST_NAMES[0])]))
        .issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW).not_valid_after(min(now + BROKER_LIFETIME, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(certificates=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_id), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _key_usage(certificates: bool) -> x509.KeyUsage:
    """A CA signs certificates; the broker signs its TLS handshakes (ECDSA: digital signature only)."""
    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=certificates,
                         crl_sign=certificates, encipher_only=False, decipher_only=False)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    """PKCS#8 ("BEGIN PRIVATE KEY"), unencrypted: the one private key form Kafka's PEM key store reads without
    a key password."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    _require_private(path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PlatformError(f"{path} is not the platform's CA key: delete {path.parent} (`govbus dev up` makes a new "
                            "CA; clients then need the new ca.pem)")
    return key


def _load_certificate(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except ValueError:
        raise PlatformError(f"{path} is not a PEM certificate: delete {path.parent} (`govbus dev up` makes a new CA; "
                            "clients then need the new ca.pem)") from None


def _require_private(path: Path) -> None:
    if path.stat().st_mode & 0o077:
        raise PlatformError(f"{path} may be read by other users than its owner: `chmod 600 {path}` (and consider the "
                            f"key known: delete {path.parent} to have new keys and certificates made)")


def _write(path: Path, data: bytes, private: bool) -> None:
    """Write ``data`` to ``path`` through a staged file, so a crash never leaves half a key; a private file is
    mode 0600 from its creation."""
    staged = path.with_name(path.name + ".tmp")
    staged.unlink(missing_ok=True)
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    staged.replace(path)
