"""Settings shared by govbus components; each component has its own model built on these.

Every model reads environment variables with the prefix ``GOVBUS_`` (``GOVBUS_KAFKA_BOOTSTRAP``,
``GOVBUS_REGISTRY_URL`` ...). Nothing is read at import time: build a model where it is used.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_KAFKA_VERSION = "4.4.0"


def _default_home() -> Path:
    return Path.home() / ".govbus"


def _default_cache() -> Path:
    return Path.home() / ".cache" / "govbus"


class GovbusSettings(BaseSettings):
    """Base for every component's settings: env prefix ``GOVBUS_``, unknown keys refused."""

    model_config = SettingsConfigDict(env_prefix="GOVBUS_", extra="forbid", frozen=True)


class PlatformSettings(GovbusSettings):
    """The local embedded platform started by ``govbus dev up``."""

    home: Path = Field(default_factory=_default_home, description="state, data and logs of `dev up`")
    cache_dir: Path = Field(default_factory=_default_cache, description="Kafka jars fetched from Maven Central")
    kafka_version: str = DEFAULT_KAFKA_VERSION
    kafka_port: int = Field(default=9092, ge=1, le=65535)
    controller_port: int = Field(default=9093, ge=1, le=65535)
    registry_port: int = Field(default=8081, ge=1, le=65535)
    kafka_heap: str = Field(default="768m", pattern=r"^\d+[mMgG]$")
    startup_timeout: float = Field(default=120.0, gt=0)

    @property
    def dev_dir(self) -> Path:
        return self.home / "dev"


class ClientSettings(GovbusSettings):
    """Where clients find the broker and the registry."""

    kafka_bootstrap: str = "127.0.0.1:9092"
    registry_url: str = "http://127.0.0.1:8081"
