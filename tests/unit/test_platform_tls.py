"""The local platform's TLS material: a CA and a broker certificate that OpenSSL (librdkafka's TLS) accepts for
127.0.0.1 and localhost, private keys 0600, made once and renewed by the same CA before the broker's expires."""

from __future__ import annotations

import ipaddress
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from govbus.exceptions import ConfigurationError, PlatformError
from govbus.platform import credentials, dev, kafka, tls
from govbus.settings import PlatformSettings


def _certificates(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def _handshake(files: tls.BrokerTls, host: str) -> None:
    """A TLS handshake in memory: a server on the broker's key store, a strict client trusting ``ca.pem`` only."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(files.keystore)
    client = ssl.create_default_context(cafile=str(files.ca))
    client.verify_flags |= ssl.VERIFY_X509_STRICT
    buffers = [ssl.MemoryBIO() for _ in range(4)]  # client->server, server->client, for each side
    client_end = client.wrap_bio(buffers[0], buffers[1], server_hostname=host)
    server_end = server.wrap_bio(buffers[1], buffers[0], server_side=True)
    # shuttle bytes until both sides complete; each side reads what the other wrote
    done = [False, False]
    for _ in range(10):
        for i, end in enumerate((client_end, server_end)):
            if not done[i]:
                try:
                    end.do_handshake()
                    done[i] = True
                except ssl.SSLWantReadError:
                    pass
        if all(done):
            return
    raise AssertionError("the handshake did not complete")


def test_the_broker_certificate_names_its_addresses_and_is_signed_by_the_platform_ca(tmp_path: Path) -> None:
    files = tls.ensure(tmp_path / "tls")
    [ca] = _certificates(files.ca)
    broker, chained_ca = _certificates(files.keystore)
    assert chained_ca == ca
    broker.verify_directly_issued_by(ca)
    names = broker.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    now = datetime.now(UTC)
    assert broker.not_valid_before_utc <= now and broker.not_valid_after_utc - now > timedelta(days=300)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not broker.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    # Kafka's PEM key store: one unencrypted PKCS#8 key, then the chain
    keystore = files.keystore.read_text()
    assert keystore.count("-----BEGIN PRIVATE KEY-----") == 1 and "ENCRYPTED" not in keystore
    for private in (files.keystore, files.ca.parent / "ca-key.pem"):
        assert private.stat().st_mode & 0o777 == 0o600
    for host in ("127.0.0.1", "localhost"):
        _handshake(files, host)
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(files, "example.org")


def test_made_once_and_renewed_by_the_same_ca_before_it_expires(tmp_path: Path) -> None:
    directory = tmp_path / "tls"
    first = tls.ensure(directory)
    ca, keystore = first.ca.read_bytes(), first.keystore.read_bytes()
    assert tls.ensure(directory) == first and (first.ca.read_bytes(), first.keystore.read_bytes()) == (ca, keystore)

    later = tls.ensure(directory, now=datetime.now(UTC) + tls.BROKER_LIFETIME - timedelta(days=10))
    assert later.ca.read_bytes() == ca, "clients keep trusting the same CA"
    assert later.keystore.read_bytes() != keystore
    [renewed, _] = _certificates(later.keystore)
    renewed.verify_directly_issued_by(_certificates(later.ca)[0])
    assert later.keystore.stat().st_mode & 0o777 == 0o600


def test_a_key_others_may_read_is_refused_with_what_to_do(tmp_path: Path) -> None:
    files = tls.ensure(tmp_path / "tls")
    files.keystore.chmod(0o644)
    with pytest.raises(PlatformError, match="chmod 600"):
        tls.ensure(tmp_path / "tls")


def test_the_node_config_turns_the_client_listener_to_sasl_ssl_and_the_admin_trusts_the_ca(tmp_path: Path) -> None:
    files = tls.ensure(tmp_path / "tls")
    config = kafka.KafkaNodeConfig(data_dir=tmp_path / "kafka", libs=tmp_path, port=19092, controller_port=19093,
                                   admin_password="pw", tls=files)
    properties = dict(line.split("=", 1) for line in config.server_properties().splitlines() if line)
    assert properties["listeners"] == "SASL_SSL://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert properties["inter.broker.listener.name"] == "SASL_SSL"
    assert properties["listener.security.protocol.map"] == "SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT"
    assert (properties["ssl.keystore.type"], properties["ssl.keystore.location"]) == ("PEM", str(files.keystore))
    assert (properties["ssl.truststore.type"], properties["ssl.truststore.location"]) == ("PEM", str(files.ca))
    assert "ssl.key.password" not in properties and "ssl.keystore.password" not in properties
    assert "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config" in properties
    env = config.admin.as_env()
    assert (env["GOVBUS_KAFKA__SECURITY_PROTOCOL"], env["GOVBUS_KAFKA__TLS_CA"]) == ("SASL_SSL", str(files.ca))
    with pytest.raises(PlatformError, match="GOVBUS_SECURITY=scram"):
        kafka.KafkaNodeConfig(data_dir=tmp_path, libs=tmp_path, port=1, controller_port=2, tls=files)


def test_tls_without_scram_is_refused_before_anything_starts(tmp_path: Path) -> None:
    settings = PlatformSettings(home=tmp_path, tls=True, security="none")
    with pytest.raises(ConfigurationError, match="set GOVBUS_SECURITY=scram, or unset GOVBUS_TLS"):
        dev.up(settings)
    assert not (tmp_path / "dev").exists()


def test_the_platform_state_hands_out_a_connection_that_trusts_the_ca(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    credentials.load_or_create(path)
    state = dev.PlatformState(kafka_bootstrap="127.0.0.1:19092", registry_url="http://127.0.0.1:18081", kafka_pid=1,
                              registry_pid=2, kafka_version="4.4.0", data_dir=str(tmp_path),
                              security_protocol="SASL_SSL", credentials_file=str(path), tls_ca=str(tmp_path / "ca.pem"))
    assert (state.kafka.security_protocol, state.kafka.tls_ca) == ("SASL_SSL", tmp_path / "ca.pem")
    assert state.security()["tls_ca"] == str(tmp_path / "ca.pem")
    assert state.env()["GOVBUS_KAFKA__TLS_CA"] == str(tmp_path / "ca.pem")
