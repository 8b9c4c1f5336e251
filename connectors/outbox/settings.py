"""Settings of the outbox connector: one model, read from ``GOVBUS_*`` variables where it is built."""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import Field, SecretStr

from govbus.settings import ServiceSettings
from govbus.topic_names import DEFAULT_PREFIX, PREFIX_PATTERN


class OutboxSettings(ServiceSettings):
    """Env ``GOVBUS_OUTBOX_*`` (plus ``GOVBUS_KAFKA__BOOTSTRAP``, ``GOVBUS_REGISTRY__URL``,
    ``GOVBUS_TOPIC_PREFIX``).

    ``GOVBUS_OUTBOX_DSN`` and ``GOVBUS_OUTBOX_DEPARTMENT`` are required; the DSN may hold a
    password and is never printed.
    """

    topic_prefix: str = Field(default=DEFAULT_PREFIX, pattern=PREFIX_PATTERN,
                              description="first part of every topic name (env GOVBUS_TOPIC_PREFIX)")
    outbox_dsn: SecretStr = Field(description="libpq connection string or URI of the department's database")
    outbox_department: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
                                   description="the publishing department's slug, e.g. market-regulation")
    outbox_source_system: str = Field(default="outbox", min_length=1,
                                      description="the department's system the rows come from")
    outbox_name: str = Field(default="govbus-outbox", min_length=1, max_length=200,
                             description="this connector's name: the key of its stored position")
    outbox_batch_size: int = Field(default=500, ge=1, le=50_000, description="rows read and published per batch")
    outbox_poll_interval: float = Field(default=0.5, gt=0, le=60,
                                        description="seconds to wait when no row is ready")
    outbox_metrics_port: int = Field(default=0, ge=0, le=65535,
                                     description="Prometheus /metrics port (on GOVBUS_METRICS_HOST); 0 serves none")
    outbox_flush_timeout: float = Field(default=60.0, gt=0,
                                        description="seconds to wait for a batch's acknowledgements")
    outbox_retry_initial_seconds: float = Field(default=0.5, gt=0, description="first wait after a failed batch")
    outbox_retry_max_seconds: float = Field(default=30.0, gt=0, description="longest wait between retries")
    outbox_lag_interval: float = Field(default=2.0, ge=0,
                                       description="seconds between two counts of waiting rows (the lag gauge)")

    def redacted(self) -> dict[str, object]:
        """The settings for a start-up log line: everything but the DSN's password."""
        values = self.model_dump()
        values["outbox_dsn"] = redact_dsn(self.outbox_dsn.get_secret_value())
        return values


def redact_dsn(dsn: str) -> str:
    """``dsn`` with any password replaced by ``***``."""

    try:
        params = conninfo_to_dict(dsn)
    except Exception:
        return "<unparsable DSN>"
    if params.get("password"):
        params["password"] = "***"  # noqa: S105 - a mask, not a password
    return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None})
