"""What every delivery connector of a subscription counts (webhook, Kafka delivery), under its own metric
name prefix: events delivered, parked, refused and filtered per item, batches and their duration, the time
from publication to delivery, lag per source topic, and failed reloads of the sharing store.

Counts are events unless named otherwise; durations are seconds; every metric carries the subscription's
name as ``subscription`` (labels never hold a record's values).
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

SECONDS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


@dataclass(frozen=True)
class Meanings:
    """The help texts that differ between connectors: what delivered, parked, a batch and end-to-end mean."""

    delivered: str
    parked: str
    batches: str
    batch_seconds: str
    end_to_end_seconds: str


class DeliveryMetrics:
    """The metrics every delivery connector shares, named ``<prefix>_...``."""

    def __init__(self, registry: CollectorRegistry, subscription: str, prefix: str, meanings: Meanings) -> None:
        self.subscription = subscription
        items = ["subscription", "item"]
        self._delivered = Counter(f"{prefix}_delivered", meanings.delivered, items, registry=registry)
        self._parked = Counter(f"{prefix}_parked", meanings.parked, items, registry=registry)
        self._refused = Counter(f"{prefix}_refused", "Events not delivered: the item is not authorised now",
                                items, registry=registry)
        self._filtered = Counter(f"{prefix}_filtered", "Events the subscription's filter left out",
                                 items, registry=registry)
        self.batches = Counter(f"{prefix}_batches", meanings.batches, ["subscription"],
                               registry=registry).labels(subscription)
        self.batch_seconds = Histogram(f"{prefix}_batch_seconds", meanings.batch_seconds, ["subscription"],
                                       buckets=SECONDS, registry=registry).labels(subscription)
        self.end_to_end_seconds = Histogram(f"{prefix}_end_to_end_seconds", meanings.end_to_end_seconds,
                                            ["subscription"], buckets=SECONDS, registry=registry).labels(subscription)
        self._lag = Gauge(f"{prefix}_lag_events", "Events on the source partitions after the committed offset",
                          ["subscription", "topic"], registry=registry)
        self.refresh_failures = Counter(f"{prefix}_refresh_failures",
                                        "Reloads of subscriptions and grants that failed (the last ones stay)",
                                        ["subscription"], registry=registry).labels(subscription)

    def delivered(self, item: str, count: int = 1) -> None:
        self._delivered.labels(self.subscription, item).inc(count)

    def parked(self, item: str, count: int = 1) -> None:
        self._parked.labels(self.subscription, item).inc(count)

    def refused(self, item: str, count: int = 1) -> None:
        self._refused.labels(self.subscription, item).inc(count)

    def filtered(self, item: str, count: int = 1) -> None:
        self._filtered.labels(self.subscription, item).inc(count)

    def lag(self, topic: str, events: int) -> None:
        self._lag.labels(self.subscription, topic).set(events)
