"""The webhook connector's Prometheus metrics, in one object with an injected registry.

Counts are events unless named otherwise; durations are seconds; every metric carries the
subscription's name as ``subscription``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class WebhookMetrics:
    def __init__(self, registry: CollectorRegistry, subscription: str) -> None:
        self.subscription = subscription
        items = ["subscription", "item"]
        self._delivered = Counter("govbus_webhook_delivered", "Events the receiver acknowledged with 2xx",
                                  items, registry=registry)
        self._parked = Counter("govbus_webhook_parked", "Events parked after the last attempt failed",
                               items, registry=registry)
        self._refused = Counter("govbus_webhook_refused", "Events not sent: the item is not authorised now",
                                items, registry=registry)
        self._filtered = Counter("govbus_webhook_filtered", "Events the subscription's filter left out",
                                 items, registry=registry)
        self._failed = Counter("govbus_webhook_failed_attempts",
                               "POSTs without a 2xx, by reason (status code, timeout, connect, ...)",
                               ["subscription", "reason"], registry=registry)
        self.batches = Counter("govbus_webhook_batches", "Batches whose outcome is final (delivered or parked)",
                               ["subscription"], registry=registry).labels(subscription)
        self.batch_seconds = Histogram("govbus_webhook_batch_seconds",
                                       "From a batch's last event read to its final outcome, retries included",
                                       ["subscription"], buckets=_SECONDS, registry=registry).labels(subscription)
        self.request_seconds = Histogram("govbus_webhook_request_seconds", "One POST that got a 2xx",
                                         ["subscription"], buckets=_SECONDS, registry=registry).labels(subscription)
        self.end_to_end_seconds = Histogram("govbus_webhook_end_to_end_seconds",
                                            "From an event's published_at to the receiver's 2xx",
                                            ["subscription"], buckets=_SECONDS, registry=registry).labels(subscription)
        self._lag = Gauge("govbus_webhook_lag", "Events on the source partitions after the committed offset",
                          ["subscription", "topic"], registry=registry)
        self.refresh_failures = Counter("govbus_webhook_refresh_failures",
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

    def failed_attempt(self, reason: str) -> None:
        self._failed.labels(self.subscription, reason).inc()

    def lag(self, topic: str, events: int) -> None:
        self._lag.labels(self.subscription, topic).set(events)
