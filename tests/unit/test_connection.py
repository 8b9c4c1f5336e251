"""The connection model: nested settings, credentials checked and redacted, one librdkafka translation."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from govbus import clients
from govbus.commands.settings_docs import current, rows
from govbus.connection import KafkaConnection, RegistryConnection
from govbus.publisher import PublisherSettings
from govbus.settings import ClientSettings
from schemas.registry.settings import RegistrySettings


def test_nested_variables_set_the_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVBUS_KAFKA__BOOTSTRAP", "broker-1:9094,broker-2:9094")
    monkeypatch.setenv("GOVBUS_KAFKA__SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("GOVBUS_KAFKA__USERNAME", "department:tax")
    monkeypatch.setenv("GOVBUS_KAFKA__PASSWORD", "s3cret-value")
    monkeypatch.setenv("GOVBUS_REGISTRY__URL", "http://registry:8081/")
    settings = PublisherSettings()
    assert settings.kafka.bootstrap == "broker-1:9094,broker-2:9094"
    assert settings.kafka.username == "department:tax"
    assert settings.registry.url == "http://registry:8081"
    assert RegistrySettings().kafka == settings.kafka  # the registry service reads the same variables
    assert "s3cret-value" not in repr(settings) and "s3cret-value" not in str(settings.model_dump())


def test_defaults_reach_the_local_platform() -> None:
    settings = ClientSettings()
    assert clients.kafka_properties(settings.kafka) == {"bootstrap.servers": "127.0.0.1:9092",
                                                       "security.protocol": "plaintext"}
    assert settings.registry.url == "http://127.0.0.1:8081"


def test_sasl_and_tls_become_librdkafka_properties(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    kafka = KafkaConnection(bootstrap="b:9093", security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-256",
                            username="operator", password="pw", tls_ca=ca)
    assert clients.kafka_properties(kafka) == {
        "bootstrap.servers": "b:9093", "security.protocol": "sasl_ssl", "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.username": "operator", "sasl.password": "pw", "ssl.ca.location": str(ca)}


def test_other_principal_keeps_the_broker() -> None:
    kafka = KafkaConnection(bootstrap="b:9092").with_credentials("subscriber:x", "pw")
    assert (kafka.bootstrap, kafka.security_protocol, kafka.username) == ("b:9092", "SASL_PLAINTEXT", "subscriber:x")


@pytest.mark.parametrize(("fields", "says"), [
    ({"security_protocol": "SASL_SSL"}, "GOVBUS_KAFKA__USERNAME and GOVBUS_KAFKA__PASSWORD"),
    ({"tls_ca": "/ca.pem"}, "GOVBUS_KAFKA__SECURITY_PROTOCOL to SSL or SASL_SSL"),
    ({"security_protocol": "TLS"}, "PLAINTEXT"),
    ({"bootstrap": ""}, "at least 1 character"),
])
def test_a_bad_kafka_connection_says_what_to_set(fields: dict[str, str], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        KafkaConnection.model_validate(fields)


def test_a_bad_registry_connection_says_what_to_set() -> None:
    with pytest.raises(ValidationError, match="must start with http"):
        RegistryConnection(url="registry:8081")
    with pytest.raises(ValidationError, match="GOVBUS_REGISTRY__USERNAME and GOVBUS_REGISTRY__PASSWORD"):
        RegistryConnection(username="only-a-name")


def test_registry_credentials_reach_both_registry_clients() -> None:
    registry = RegistryConnection(url="http://r:8081", username="operator", password="pw")
    with clients.registry_http(registry) as http:
        assert http.auth is not None and str(http.base_url) == "http://r:8081"
    assert clients.registry_client(registry) is not None


def test_renamed_variables_are_refused_with_their_new_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVBUS_KAFKA_BOOTSTRAP", "old:9092")
    with pytest.raises(ValidationError, match="GOVBUS_KAFKA_BOOTSTRAP is now GOVBUS_KAFKA__BOOTSTRAP"):
        ClientSettings()
    with pytest.raises(ValidationError, match="GOVBUS_KAFKA__BOOTSTRAP"):
        RegistrySettings()


def test_a_settings_error_never_echoes_a_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVBUS_KAFKA__PASSWORD", "the-broker-password")
    monkeypatch.setenv("GOVBUS_KAFKA_BOOTSTRAP", "old:9092")  # refused: the error lists what was read
    for settings in (ClientSettings, RegistrySettings):
        with pytest.raises(ValidationError) as refused:
            settings()
        assert "the-broker-password" not in str(refused.value)
    monkeypatch.delenv("GOVBUS_KAFKA_BOOTSTRAP")
    monkeypatch.setenv("GOVBUS_KAFKA__SECURITY_PROTOCOL", "SASL_BOGUS")
    with pytest.raises(ValidationError) as invalid:
        ClientSettings()
    assert "the-broker-password" not in str(invalid.value)


def test_govbus_config_lists_each_connection_field_and_redacts_the_passwords() -> None:
    listed = {row.env: row for row in rows(PublisherSettings)}
    for name in ("BOOTSTRAP", "SECURITY_PROTOCOL", "SASL_MECHANISM", "USERNAME", "PASSWORD", "TLS_CA"):
        assert f"GOVBUS_KAFKA__{name}" in listed
    for name in ("URL", "USERNAME", "PASSWORD", "TLS_CA"):
        assert f"GOVBUS_REGISTRY__{name}" in listed
    for secret in ("GOVBUS_KAFKA__PASSWORD", "GOVBUS_REGISTRY__PASSWORD"):
        assert listed[secret].secret
        assert current(listed[secret], {secret: "s3cret-value"}) == "***"
    assert current(listed["GOVBUS_KAFKA__USERNAME"], {"GOVBUS_KAFKA__USERNAME": "tax"}) == "tax"
