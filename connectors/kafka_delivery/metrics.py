"""The Kafka delivery connector's Prometheus metrics, in one object with an injected registry: what every
delivery connector counts (:mod:`connectors.delivery_metrics`), plus the writes the broker refused for good."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from connectors.delivery_metrics import DeliveryMetrics, Meanings

MEANINGS = Meanings(delivered="Events written to the delivery topic and acknowledged",
                    parked="Events that could not be decoded, parked",
                    batches="Batches with events written or parked",
                    batch_seconds="From a batch's last event read to its events acknowledged, retries included",
                    end_to_end_seconds="From an event's published_at to its delivery being acknowledged")


class KafkaDeliveryMetrics(DeliveryMetrics):
    def __init__(self, registry: CollectorRegistry, subscription: str) -> None:
        super().__init__(registry, subscription, "govbus_kafka_delivery", MEANINGS)
        self._write_errors = Counter("govbus_kafka_delivery_write_errors",
                                     "Events the broker refused for good (the connector stops), by Kafka error name",
                                     ["subscription", "reason"], registry=registry)

    def write_error(self, reason: str, count: int = 1) -> None:
        self._write_errors.labels(self.subscription, reason).inc(count)
