"""The outbox connector's Prometheus metrics, in one object with an injected registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class OutboxMetrics:
    """Counts are rows; durations are seconds; all carry the connector's name as ``connector``."""

    def __init__(self, registry: CollectorRegistry, connector: str) -> None:
        labels = ["connector"]
        self.rows_read = Counter("govbus_outbox_rows_read",
                                 "Outbox rows read (a re-read after a failed batch counts again)",
                                 labels, registry=registry).labels(connector)
        self.rows_published = Counter("govbus_outbox_rows_published",
                                      "Outbox rows Kafka acknowledged (counted when their batch's position is stored)",
                                      labels, registry=registry).labels(connector)
        self._rejected = Counter("govbus_outbox_rows_rejected", "Outbox rows recorded as rejected, by rule broken",
                                 [*labels, "rule"], registry=registry)
        self.position_lag = Gauge("govbus_outbox_position_lag_rows",
                                  "Committed outbox rows after the stored position (rows waiting)",
                                  labels, registry=registry).labels(connector)
        self.held_back = Gauge("govbus_outbox_held_back_rows",
                               "Rows waiting only because an older transaction is still open",
                               labels, registry=registry).labels(connector)
        self.batch_seconds = Histogram("govbus_outbox_batch_duration_seconds",
                                       "Read, publish, flush and store of one non-empty batch", labels,
                                       buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
                                       registry=registry).labels(connector)
        self._failed = Counter("govbus_outbox_failed_batches", "Batches that failed and will be retried, by cause",
                               [*labels, "cause"], registry=registry)
        self._connector = connector

    def rejected(self, rule: str) -> None:
        self._rejected.labels(self._connector, rule).inc()

    def failed_batch(self, cause: str) -> None:
        self._failed.labels(self._connector, cause).inc()
