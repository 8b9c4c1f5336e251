"""Settings of the ingest gateway (env ``GOVBUS_GATEWAY_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from govbus.settings import ClientSettings


class GatewaySettings(ClientSettings):
    gateway_host: str = Field(default="127.0.0.1", description="address the gateway listens on")
    gateway_port: int = Field(default=8088, ge=1, le=65535, description="port the gateway listens on")
    gateway_keys_file: Path = Field(default=Path("gateway-keys.json"),
                                    description="JSON file of hashed API keys (`govbus gateway add-key`)")
    gateway_max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024,
                                        description="largest request body accepted (larger: 413)")
    gateway_max_batch_records: int = Field(default=5000, ge=1,
                                           description="most records in one request (more: 413)")
    gateway_ack_timeout_seconds: float = Field(default=30.0, gt=0,
                                               description="seconds to wait for the broker (then 503)")
