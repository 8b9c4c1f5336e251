"""Settings of the schema registry service: one pydantic-settings model, read at start-up.

Every field can be set from the environment with the ``GOVBUS_`` prefix, e.g.
``GOVBUS_KAFKA__BOOTSTRAP=broker:9092`` (the broker connection is nested, see
:mod:`govbus.connection`) or ``GOVBUS_REGISTRY_PORT=8081``; keyword arguments
(the CLI flags) win over the environment. Nothing is read at import time.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from govbus.connection import KafkaConnection
from govbus.settings import refuse_renamed_variables

_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
_LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}


class RegistrySettings(BaseSettings):
    """Everything the registry needs to run; validated when constructed."""

    model_config = SettingsConfigDict(env_prefix="GOVBUS_", env_nested_delimiter="__", extra="forbid",
                                      hide_input_in_errors=True)  # an error never echoes a password

    kafka: KafkaConnection = Field(default_factory=KafkaConnection,
                                   description="the broker holding the registry's log: GOVBUS_KAFKA__BOOTSTRAP ...")
    registry_host: str = Field("127.0.0.1", description="interface the HTTP server binds to")
    registry_port: int = Field(8081, ge=1, le=65535, description="HTTP port")
    registry_topic: str = Field("_govbus_schemas", description="compacted topic holding the registry's log")
    registry_topic_replication: int = Field(
        -1, description="replication factor when the registry creates its topics; -1 = broker default"
    )
    registry_advertised_url: str | None = Field(
        None, description="URL other instances forward writes to; default http://<host>:<port>"
    )
    registry_election_group: str | None = Field(
        None, description="consumer group electing the primary; default govbus-registry-election.<topic>"
    )
    registry_election_topic: str | None = Field(
        None, description="1-partition topic the election group subscribes to; default <topic>-election"
    )
    registry_session_timeout_ms: int = Field(
        6000, ge=1000, description="election group session timeout: how fast a dead primary is replaced"
    )
    registry_startup_timeout: float = Field(60.0, gt=0, description="seconds allowed to replay the log at start")
    registry_write_timeout: float = Field(15.0, gt=0, description="seconds a write may take before 50002")
    registry_credentials_file: Path | None = Field(
        None, description="the platform's credentials file (JSON, mode 0600): HTTP Basic for every request but "
                          "GET / and /metrics; unset: anyone may read and write"
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")

    @model_validator(mode="before")
    @classmethod
    def _no_renamed_variables(cls, data: Any) -> Any:
        refuse_renamed_variables()
        return data

    @field_validator("registry_topic", "registry_election_topic")
    @classmethod
    def _valid_topic(cls, value: str | None) -> str | None:
        if value is not None and not _TOPIC_NAME.match(value):
            raise ValueError(f"{value!r} is not a valid Kafka topic name (letters, digits, '.', '_', '-')")
        return value

    @field_validator("registry_advertised_url")
    @classmethod
    def _valid_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"advertised URL {value!r} must start with http:// or https://")
        return value.rstrip("/") if value else value

    @field_validator("log_level")
    @classmethod
    def _valid_level(cls, value: str) -> str:
        if value.upper() not in _LOG_LEVELS:
            raise ValueError(f"log level {value!r} is not one of {sorted(_LOG_LEVELS)}")
        return value.upper()

    def advertised_url(self) -> str:
        """The URL this instance announces to the others when it becomes primary."""
        if self.registry_advertised_url:
            return self.registry_advertised_url
        host = self.registry_host
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - a wildcard bind has no address to advertise
            host = socket.gethostname()
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.registry_port}"

    def election_group(self) -> str:
        """Consumer group whose holder of the election partition is the primary."""
        return self.registry_election_group or f"govbus-registry-election.{self.registry_topic}"

    def election_topic(self) -> str:
        """The 1-partition topic the election group subscribes to."""
        return self.registry_election_topic or f"{self.registry_topic}-election"
