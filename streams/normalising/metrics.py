"""Prometheus metrics of the normaliser, in one object with an injected registry.

=================================================  =========  ==========================================
metric                                             labels     meaning
=================================================  =========  ==========================================
``govbus_normaliser_records_processed_total``      item,      records read from a source topic
                                                   dialect
``govbus_normaliser_records_canonical_total``      item,      records written to the canonical topic
                                                   dialect
``govbus_normaliser_records_changed_total``        item,      canonical records with at least one fix
                                                   dialect
``govbus_normaliser_records_fixed_total``          item,      canonical records with at least one fix
                                                   kind       of this kind (a record counts once per kind)
``govbus_normaliser_records_rejected_total``       item,      records sent to the dead-letter topic
                                                   stage,
                                                   rule
``govbus_normaliser_records_deduplicated_total``   item       re-sent events dropped (event id seen)
``govbus_normaliser_latency_seconds``              item       time to handle one record (histogram)
=================================================  =========  ==========================================

The consumer lag per input partition is the engine's (:class:`streams.engine.EngineMetrics`,
``govbus_streams_consumer_lag_records{processor="normaliser"}``).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from govbus.metric_children import Children
from streams.normalising.handler import Accepted, Rejected

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class NormaliserMetrics:
    """Counters are totals since the worker started; latency is in seconds."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.processed = Counter("govbus_normaliser_records_processed", "Records read from a source topic",
                                 ["item", "dialect"], registry=registry)
        self.canonical = Counter("govbus_normaliser_records_canonical", "Records written to the canonical topic",
                                 ["item", "dialect"], registry=registry)
        self.changed = Counter("govbus_normaliser_records_changed", "Canonical records with at least one fix",
                               ["item", "dialect"], registry=registry)
        self.fixed = Counter("govbus_normaliser_records_fixed", "Canonical records with at least one fix of this kind",
                             ["item", "kind"], registry=registry)
        self.rejected = Counter("govbus_normaliser_records_rejected", "Records sent to the dead-letter topic",
                                ["item", "stage", "rule"], registry=registry)
        self.deduplicated = Counter("govbus_normaliser_records_deduplicated",
                                    "Re-sent events dropped because their event id was seen", ["item"],
                                    registry=registry)
        self.latency = Histogram("govbus_normaliser_latency_seconds", "Time to handle one record", ["item"],
                                 buckets=_LATENCY_BUCKETS, registry=registry)
        self._canonical, self._changed = Children(self.canonical), Children(self.changed)
        self._fixed, self._rejected = Children(self.fixed), Children(self.rejected)

    def accepted(self, item: str, outcome: Accepted) -> None:
        self._canonical(item, outcome.dialect).inc()
        if outcome.fixes:
            self._changed(item, outcome.dialect).inc()
            for kind in {fix.kind for fix in outcome.fixes}:
                self._fixed(item, str(kind)).inc()

    def rejected_one(self, item: str, outcome: Rejected) -> None:
        self._rejected(item, outcome.stage, outcome.rule).inc()
