"""The webhook connector's Prometheus metrics, in one object with an injected registry: what every delivery
connector counts (:mod:`connectors.delivery_metrics`), plus the POSTs that failed and the time of those that
got a 2xx."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from connectors.delivery_metrics import SECONDS, DeliveryMetrics, Meanings

MEANINGS = Meanings(delivered="Events the receiver acknowledged with 2xx",
                    parked="Events parked after the last attempt failed",
                    batches="Batches whose outcome is final (delivered or parked)",
                    batch_seconds="From a batch's last event read to its final outcome, retries included",
                    end_to_end_seconds="From an event's published_at to the receiver's 2xx")


class WebhookMetrics(DeliveryMetrics):
    def __init__(self, registry: CollectorRegistry, subscription: str) -> None:
        super().__init__(registry, subscription, "govbus_webhook", MEANINGS)
        self._failed = Counter("govbus_webhook_failed_attempts",
                               "POSTs without a 2xx, by reason (status code, timeout, connect, ...)",
                               ["subscription", "reason"], registry=registry)
        self.request_seconds = Histogram("govbus_webhook_request_seconds", "One POST that got a 2xx",
                                         ["subscription"], buckets=SECONDS, registry=registry).labels(subscription)

    def failed_attempt(self, reason: str) -> None:
        self._failed.labels(self.subscription, reason).inc()
