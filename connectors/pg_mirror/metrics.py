"""The mirror's Prometheus metrics, in one object with an injected registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class MirrorMetrics:
    """Counts are rows, events or batches; durations are seconds; every metric carries the mirror's name
    (its subscription or item) as ``mirror``."""

    def __init__(self, registry: CollectorRegistry, mirror: str) -> None:
        self._mirror = mirror
        self.registry = registry
        self.events = Counter("govbus_mirror_events", "Events read from Kafka (a redelivered event counts again)",
                              ["mirror"], registry=registry).labels(mirror)
        self._upserted = Counter("govbus_mirror_rows_upserted",
                                 "Rows inserted or updated, counted when their transaction committed",
                                 ["mirror", "table"], registry=registry)
        self._deleted = Counter("govbus_mirror_rows_deleted",
                                "Delete statements (a delete event or tombstone, or a record the filter "
                                "no longer matches), counted when their transaction committed",
                                ["mirror", "table"], registry=registry)
        self._columns_added = Counter("govbus_mirror_columns_added",
                                      "Columns added to a table (created or widened)", ["mirror", "table"],
                                      registry=registry)
        self.batches = Counter("govbus_mirror_batches", "Transactions committed (one per batch of events)",
                               ["mirror"], registry=registry).labels(mirror)
        self._errors = Counter("govbus_mirror_errors", "Failures by cause: a failed batch that will be retried "
                               "(the exception's type), or a bad event (bad_event)", ["mirror", "cause"],
                               registry=registry)
        self._lag = Gauge("govbus_mirror_lag_events", "Events in the topic after the mirror's committed position",
                          ["mirror", "topic"], registry=registry)
        self.batch_seconds = Histogram("govbus_mirror_batch_duration_seconds",
                                       "Decode, write and commit of one batch (retries included)", ["mirror"],
                                       buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
                                       registry=registry).labels(mirror)

    def upserted(self, table: str, rows: int) -> None:
        self._upserted.labels(self._mirror, table).inc(rows)

    def deleted(self, table: str, rows: int) -> None:
        self._deleted.labels(self._mirror, table).inc(rows)

    def columns_added(self, table: str, columns: int) -> None:
        self._columns_added.labels(self._mirror, table).inc(columns)

    def error(self, cause: str) -> None:
        self._errors.labels(self._mirror, cause).inc()

    def lag(self, topic: str, events: int) -> None:
        self._lag.labels(self._mirror, topic).set(events)
