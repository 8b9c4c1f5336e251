"""Settings of the ingest gateway (env ``GOVBUS_GATEWAY_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from govbus.settings import GovbusSettings


class GatewaySettings(GovbusSettings):
    kafka_bootstrap: str = "127.0.0.1:9092"
    registry_url: str = "http://127.0.0.1:8081"
    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(default=8088, ge=1, le=65535)
    gateway_keys_file: Path = Field(default=Path("gateway-keys.json"),
                                    description="JSON file of hashed API keys (`govbus gateway add-key`)")
    gateway_max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    gateway_max_batch_records: int = Field(default=5000, ge=1)
    gateway_ack_timeout_seconds: float = Field(default=30.0, gt=0)
