"""The feed's Prometheus metrics, in one object with an injected registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class FeedMetrics:
    """Counts are requests or events; ``entries`` is records currently served."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter("govbus_feed_requests", "HTTP requests by route and status",
                                ["route", "status"], registry=registry)
        self.events = Counter("govbus_feed_events", "Canonical events read, by item and outcome "
                              "(upsert, delete, undecodable)", ["item", "outcome"], registry=registry)
        self.entries = Gauge("govbus_feed_entries", "Records currently served, by item", ["item"], registry=registry)
        self.loaded = Gauge("govbus_feed_loaded", "1 once the topics were read up to their end offsets at start",
                            registry=registry)
        self.reader_failed = Gauge("govbus_feed_reader_failed", "1 if the consumer thread stopped on an error",
                                   registry=registry)
