"""How a client reaches the broker and the schema registry: address, protocol and credentials.

Every component's settings hold one :class:`KafkaConnection` and one :class:`RegistryConnection`,
set from nested environment variables: ``GOVBUS_KAFKA__BOOTSTRAP``, ``GOVBUS_KAFKA__SECURITY_PROTOCOL``,
``GOVBUS_KAFKA__USERNAME``, ``GOVBUS_KAFKA__PASSWORD`` ..., ``GOVBUS_REGISTRY__URL``,
``GOVBUS_REGISTRY__USERNAME`` ... Passwords are :class:`~pydantic.SecretStr`: printed as ``**********``.
:mod:`govbus.clients` is the one place that turns them into clients.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_REGISTRY_URL = "http://127.0.0.1:8081"

SecurityProtocol = Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"]
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]


class KafkaConnection(BaseModel):
    """Where the broker is and how to authenticate to it."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    bootstrap: str = Field(DEFAULT_BOOTSTRAP, min_length=1,
                           description="Kafka bootstrap servers: host:port[,host:port...]")
    security_protocol: SecurityProtocol = Field(
        "PLAINTEXT", description="PLAINTEXT, SASL_PLAINTEXT, SASL_SSL or SSL")
    sasl_mechanism: SaslMechanism = Field(
        "SCRAM-SHA-512", description="SASL mechanism for SASL_* protocols: SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN")
    username: str | None = Field(None, description="SASL user name (the principal)")
    password: SecretStr | None = Field(None, description="SASL password")
    tls_ca: Path | None = Field(None, description="PEM file of the CA that signed the broker's certificate "
                                                  "(SSL and SASL_SSL); default: the system's CAs")

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol.endswith("SSL")

    @model_validator(mode="after")
    def _credentials_match_protocol(self) -> KafkaConnection:
        if self.uses_sasl and not (self.username and self.password):
            raise ValueError(f"security protocol {self.security_protocol} needs a user name and a password: set "
                             "GOVBUS_KAFKA__USERNAME and GOVBUS_KAFKA__PASSWORD")
        if self.tls_ca is not None and not self.uses_tls:
            raise ValueError(f"a TLS CA file was given but the security protocol is {self.security_protocol}: "
                             "set GOVBUS_KAFKA__SECURITY_PROTOCOL to SSL or SASL_SSL")
        return self

    def as_env(self) -> dict[str, str]:
        """The GOVBUS_KAFKA__* variables that give a component this connection (the password included)."""
        env = {"GOVBUS_KAFKA__BOOTSTRAP": self.bootstrap, "GOVBUS_KAFKA__SECURITY_PROTOCOL": self.security_protocol}
        if self.uses_sasl:
            env |= {"GOVBUS_KAFKA__SASL_MECHANISM": self.sasl_mechanism, "GOVBUS_KAFKA__USERNAME": self.username or "",
                    "GOVBUS_KAFKA__PASSWORD": self.password.get_secret_value() if self.password else ""}
        if self.tls_ca is not None:
            env["GOVBUS_KAFKA__TLS_CA"] = str(self.tls_ca)
        return env

    def with_credentials(self, username: str, password: str) -> KafkaConnection:
        """The same broker, reached as another principal (SASL_PLAINTEXT unless TLS is on already)."""
        protocol: SecurityProtocol = "SASL_SSL" if self.uses_tls else "SASL_PLAINTEXT"
        return self.model_copy(update={"security_protocol": protocol, "username": username,
                                       "password": SecretStr(password)})


class RegistryConnection(BaseModel):
    """Where the schema registry is and how to authenticate to it (HTTP basic authentication)."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    url: str = Field(DEFAULT_REGISTRY_URL, description="URL of the schema registry")
    username: str | None = Field(None, description="registry user name (HTTP basic authentication)")
    password: SecretStr | None = Field(None, description="registry password")
    tls_ca: Path | None = Field(None, description="PEM file of the CA that signed the registry's certificate "
                                                  "(https); default: the system's CAs")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"registry URL {value!r} must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _both_or_neither(self) -> RegistryConnection:
        if bool(self.username) != bool(self.password):
            raise ValueError("the registry needs both a user name and a password, or neither: set "
                             "GOVBUS_REGISTRY__USERNAME and GOVBUS_REGISTRY__PASSWORD together")
        return self
