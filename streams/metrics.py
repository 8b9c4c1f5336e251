"""Prometheus metrics of a stream processor, grouped in one object with an injected registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class ProcessorMetrics:
    """Counters are totals since the worker started; latency is in seconds."""

    def __init__(self, registry: CollectorRegistry, processor: str) -> None:
        labels = {"processor": processor}
        self.processed = Counter("govbus_processor_records_processed", "Records read from the source topic",
                                 labelnames=["processor"], registry=registry).labels(**labels)
        self.accepted = Counter("govbus_processor_records_accepted", "Records written to the canonical topic",
                                labelnames=["processor"], registry=registry).labels(**labels)
        self._dead_lettered = Counter("govbus_processor_records_dead_lettered",
                                      "Records sent to the dead-letter topic, by rule",
                                      labelnames=["processor", "stage", "rule"], registry=registry)
        self.latency = Histogram("govbus_processor_latency_seconds", "Time to handle one record",
                                 labelnames=["processor"], registry=registry).labels(**labels)
        self._processor = processor

    def dead_lettered(self, stage: str, rule: str) -> None:
        self._dead_lettered.labels(processor=self._processor, stage=stage, rule=rule).inc()
