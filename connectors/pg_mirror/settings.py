"""Settings of the PostgreSQL mirror: one model, read from ``GOVBUS_*`` variables where it is built."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from connectors.outbox.settings import redact_dsn
from govbus.audit_keys import AuditKeySettings
from govbus.settings import ServiceSettings
from govbus.sharing.model import NAME_PATTERN
from govbus.topic_names import DEFAULT_PREFIX, PREFIX_PATTERN

TABLE_PATTERN = r"^([A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,62}$"


class MirrorSettings(AuditKeySettings, ServiceSettings):
    """Env ``GOVBUS_MIRROR_*`` (plus ``GOVBUS_KAFKA__BOOTSTRAP``, ``GOVBUS_REGISTRY__URL``, ``GOVBUS_TOPIC_PREFIX``).

    Mirror either a **subscription** (``GOVBUS_MIRROR_SUBSCRIPTION``: every item of it, only the
    planned fields, masked as the plan says, one table per item named ``<table prefix><item>``) or
    one **item or profile** (``GOVBUS_MIRROR_ITEM=credit_record`` or ``profile:enterprise``: every
    field, into ``GOVBUS_MIRROR_TABLE``). The DSN may hold a password and is never printed.
    """

    topic_prefix: str = Field(default=DEFAULT_PREFIX, pattern=PREFIX_PATTERN,
                              description="first part of every topic name (env GOVBUS_TOPIC_PREFIX)")
    mirror_subscription: str | None = Field(default=None, pattern=NAME_PATTERN,
                                            description="mirror this subscription (its delivery kind is postgres)")
    mirror_item: str | None = Field(default=None, description="or mirror this item, or profile:<name>, in full")
    mirror_topic: str | None = Field(default=None, description="with mirror_item: read this topic instead of "
                                     "the item's canonical (or the profile's) topic")
    mirror_dsn: SecretStr | None = Field(default=None, description="libpq connection string or URI of the "
                                         "subscriber's database; for a subscription, defaults to the variable "
                                         "its delivery.dsn_env names")
    mirror_table: str | None = Field(default=None, pattern=TABLE_PATTERN,
                                     description="with mirror_item: the table (default <table prefix><item>)")
    mirror_table_prefix: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_]{0,40}$",
                                            description="table names start with this (default: the "
                                            "subscription's delivery.table_prefix, else none)")
    mirror_group: str | None = Field(default=None, min_length=1, description="consumer group (default: the "
                                     "subscription's group, else <prefix>.mirror.<table>)")
    mirror_batch_size: int = Field(default=2000, ge=1, le=100_000,
                                   description="most events written in one database transaction")
    mirror_batch_wait: float = Field(default=0.1, ge=0, le=10,
                                     description="seconds to wait for a batch to fill before writing it")
    mirror_metrics_port: int = Field(default=0, ge=0, le=65535,
                                     description="Prometheus /metrics port (on GOVBUS_METRICS_HOST); 0 serves none")
    mirror_retry_initial_seconds: float = Field(default=0.5, gt=0, description="first wait after a failed batch")
    mirror_retry_max_seconds: float = Field(default=15.0, gt=0, description="longest wait between retries")
    mirror_lag_interval: float = Field(default=5.0, ge=0, description="seconds between two lag measurements")
    mirror_sharing_refresh: float = Field(default=10.0, gt=0, description="seconds between two reloads of "
                                          "the subscription and its grants")
    mirror_bad_events: Literal["stop", "skip"] = Field(
        default="stop", description="an event that cannot be decoded or that the database refuses: stop the "
        "mirror (offsets stay, nothing is skipped) or skip it (logged, counted as an error)")

    @model_validator(mode="after")
    def _one_source(self) -> MirrorSettings:
        if (self.mirror_subscription is None) == (self.mirror_item is None):
            raise ValueError("set exactly one of GOVBUS_MIRROR_SUBSCRIPTION (a subscription) and "
                             "GOVBUS_MIRROR_ITEM (an item or profile:<name>)")
        if self.mirror_subscription and (self.mirror_topic or self.mirror_table):
            raise ValueError("GOVBUS_MIRROR_TOPIC and GOVBUS_MIRROR_TABLE go with GOVBUS_MIRROR_ITEM; a subscription "
                             "mirrors each item into <table prefix><item>")
        return self

    @property
    def name(self) -> str:
        """This mirror's name in logs and metrics: the subscription, else the item."""
        return self.mirror_subscription or self.mirror_item or "mirror"

    def redacted(self) -> dict[str, object]:
        """The settings for a start-up log line: everything but the DSN's password."""

        values = self.model_dump()
        values["mirror_dsn"] = redact_dsn(self.mirror_dsn.get_secret_value()) if self.mirror_dsn else None
        return values
