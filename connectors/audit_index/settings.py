"""Settings of the audit index: where it is (shared by the indexer and the `govbus audit` commands that query it),
and how the indexer runs."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from connectors.outbox.settings import redact_dsn
from govbus.settings import GovbusSettings, ServiceSettings
from govbus.topic_names import DEFAULT_PREFIX, PREFIX_PATTERN


class AuditIndexLookup(GovbusSettings):
    """Env ``GOVBUS_AUDIT_INDEX_DSN`` and ``GOVBUS_TOPIC_PREFIX``: the index `govbus audit who-received` asks."""

    topic_prefix: str = Field(default=DEFAULT_PREFIX, pattern=PREFIX_PATTERN,
                              description="first part of every topic name (env GOVBUS_TOPIC_PREFIX)")
    audit_index_dsn: SecretStr | None = Field(
        default=None, description="libpq connection string or URI of the audit index's database (the indexer "
                                  "keeps it; `govbus audit who-received` and `deliveries` answer from it, and read "
                                  "the whole topic when none is set)")


class AuditIndexSettings(AuditIndexLookup, ServiceSettings):
    """Env ``GOVBUS_AUDIT_INDEX_*`` (plus ``GOVBUS_KAFKA__*`` and ``GOVBUS_TOPIC_PREFIX``) of the indexer.

    Its principal needs READ on the audit topic and its consumer group ``<prefix>.operator.audit-index``:
    the operator's principal has both. The DSN may hold a password and is never printed.
    """

    audit_index_batch_size: int = Field(default=5000, ge=1, le=100_000,
                                        description="most audit records written in one database transaction")
    audit_index_batch_wait: float = Field(default=0.2, ge=0, le=10,
                                          description="seconds to wait for a batch to fill before writing it")
    audit_index_retry_max_seconds: float = Field(default=15.0, gt=0,
                                                 description="longest wait between two tries while the database "
                                                             "is away")
    audit_index_public_keys: tuple[Path, ...] = Field(
        default=(), description="PEM files (JSON list) of the public keys the connectors sign their audit records "
                                "with: a record whose signature does not verify counts as a chain break; none: "
                                "only the chains' links (seq, prev) are checked")
    audit_index_metrics_port: int = Field(default=0, ge=0, le=65535,
                                          description="Prometheus /metrics port (on GOVBUS_METRICS_HOST); 0 serves "
                                                      "none")

    @model_validator(mode="after")
    def _dsn_set(self) -> AuditIndexSettings:
        if self.audit_index_dsn is None or not self.audit_index_dsn.get_secret_value():
            raise ValueError("set GOVBUS_AUDIT_INDEX_DSN, the database the audit index is kept in")
        return self

    def redacted(self) -> dict[str, object]:
        """The settings for a start-up log line: everything but the DSN's password."""
        values = self.model_dump()
        dsn = self.audit_index_dsn
        values["audit_index_dsn"] = redact_dsn(dsn.get_secret_value()) if dsn is not None else None
        return values
