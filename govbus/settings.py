"""Settings shared by govbus components; each component has its own model built on these.

Every model reads environment variables with the prefix ``GOVBUS_``; the broker and registry
connections are nested (``GOVBUS_KAFKA__BOOTSTRAP``, ``GOVBUS_KAFKA__PASSWORD``, ``GOVBUS_REGISTRY__URL``
..., see :mod:`govbus.connection`). Nothing is read at import time: build a model where it is used.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from govbus.connection import KafkaConnection, RegistryConnection

DEFAULT_KAFKA_VERSION = "4.4.0"

RENAMED_VARIABLES = {"GOVBUS_KAFKA_BOOTSTRAP": "GOVBUS_KAFKA__BOOTSTRAP", "GOVBUS_REGISTRY_URL": "GOVBUS_REGISTRY__URL",
                     "GOVBUS_KAFKA_DELIVERY_PSEUDONYM_KEY": "GOVBUS_PSEUDONYM_KEY"}
"""Variables of earlier releases and their names now: a stale one would otherwise be ignored silently."""
LogLevel = Annotated[str, Field(description="level of the JSON logs on stderr: DEBUG, INFO, WARNING or ERROR")]
MetricsHost = Annotated[str, Field(description="address /metrics listens on (0.0.0.0 in a container, so it can be "
                                               "scraped); the port is the component's own setting")]
DEFAULT_METRICS_HOST = "127.0.0.1"
CLUSTER_PORT_STEP = 100
"""node n of the local cluster (``GOVBUS_DEV_BROKERS=3``) listens on the configured ports plus this times n - 1"""


def settings_problems(error: ValidationError) -> str:
    """The problems of invalid settings on one line, each after the variable that sets it (``GOVBUS_OUTBOX_DSN:
    Field required``; ``GOVBUS_KAFKA__BOOTSTRAP: ...`` for a nested one), without pydantic's links."""
    problems = []
    for problem in error.errors():
        variable = "__".join(str(part) for part in problem["loc"]).upper()
        message = str(problem["msg"]).removeprefix("Value error, ")
        problems.append(f"GOVBUS_{variable}: {message}" if variable else message)
    return "; ".join(problems)


def _default_home() -> Path:
    return Path.home() / ".govbus"


def _default_cache() -> Path:
    return Path.home() / ".cache" / "govbus"


class GovbusSettings(BaseSettings):
    """Base for every component's settings: env prefix ``GOVBUS_``, unknown keys refused."""

    model_config = SettingsConfigDict(env_prefix="GOVBUS_", env_nested_delimiter="__", extra="forbid", frozen=True,
                                      hide_input_in_errors=True)  # an error never echoes a password


class PlatformSettings(GovbusSettings):
    """The local embedded platform started by ``govbus dev up``."""

    home: Path = Field(default_factory=_default_home, description="state, data and logs of `dev up`")
    cache_dir: Path = Field(default_factory=_default_cache, description="Kafka jars fetched from Maven Central, and "
                                                                        "npm tools the tests run (the AsyncAPI CLI)")
    kafka_version: str = Field(default=DEFAULT_KAFKA_VERSION, description="Apache Kafka release run by `dev up`")
    kafka_port: int = Field(default=9092, ge=1, le=65535, description="the broker's port on 127.0.0.1")
    controller_port: int = Field(default=9093, ge=1, le=65535, description="the KRaft controller's port on 127.0.0.1")
    registry_port: int = Field(default=8081, ge=1, le=65535, description="the schema registry's port on 127.0.0.1")
    kafka_heap: str = Field(default="768m", pattern=r"^\d+[mMgG]$", description="the broker's JVM heap (-Xmx)")
    dev_brokers: int = Field(
        default=1, description="Kafka nodes `dev up` runs (`--brokers`): 1, or a KRaft cluster of 3 (each broker and "
                               "controller, node n on GOVBUS_KAFKA_PORT and GOVBUS_CONTROLLER_PORT plus "
                               f"{CLUSTER_PORT_STEP}*(n-1), data in <home>/dev/kafka-<n>) whose topics get 3 replicas "
                               "and min.insync.replicas=2")
    dev_broker_heap: str = Field(default="512m", pattern=r"^\d+[mMgG]$",
                                 description="each node's JVM heap (-Xmx) when `dev_brokers` is 3")
    startup_timeout: float = Field(default=120.0, gt=0,
                                   description="seconds `dev up` waits for the broker and the registry")
    security: Literal["none", "scram"] = Field(
        default="scram", description="`scram`: SASL/SCRAM-SHA-512 and an authorizer on the broker, HTTP Basic on the "
                                     "registry, credentials in <home>/dev/credentials.json (mode 0600); `none`: "
                                     "a PLAINTEXT listener and an open registry (nothing enforced)")
    tls: bool = Field(
        default=False, description="with `security=scram`: the broker's client listener is SASL_SSL (SCRAM over TLS) "
                                   "with a certificate from a private CA made once in <home>/dev/tls/ (clients: "
                                   "GOVBUS_KAFKA__TLS_CA=<home>/dev/tls/ca.pem); refused with `security=none`")

    @field_validator("dev_brokers")
    @classmethod
    def _one_or_three_brokers(cls, count: int) -> int:
        if count not in (1, 3):
            raise ValueError(f"{count} brokers: the local platform runs 1 node, or a cluster of 3 (a quorum of 2 "
                             "voters survives no loss; set 1 or 3)")
        return count

    @property
    def dev_dir(self) -> Path:
        return self.home / "dev"


class ClientSettings(GovbusSettings):
    """Where clients find the broker and the registry, and who they are to each."""

    kafka: KafkaConnection = Field(default_factory=KafkaConnection,
                                   description="the broker: GOVBUS_KAFKA__BOOTSTRAP, __USERNAME ...")
    registry: RegistryConnection = Field(default_factory=RegistryConnection,
                                         description="the schema registry: GOVBUS_REGISTRY__URL, __USERNAME ...")

    @model_validator(mode="before")
    @classmethod
    def _no_renamed_variables(cls, data: Any) -> Any:
        refuse_renamed_variables()
        return data


def refuse_renamed_variables() -> None:
    """A :class:`ValueError` naming the new variable when the environment sets one under its old name."""
    stale = [f"{old} is now {new}" for old, new in RENAMED_VARIABLES.items() if old in os.environ]
    if stale:
        raise ValueError("renamed settings: " + "; ".join(stale) + " (rename the variables in your environment)")


class ServiceSettings(ClientSettings):
    """A long-running component: where it finds the broker and the registry, and where /metrics listens."""

    metrics_host: MetricsHost = DEFAULT_METRICS_HOST
