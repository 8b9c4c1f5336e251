"""Every metrics object a component builds follows govbus's metric conventions (testsupport/metric_conventions.py)
for every label it declares, with a sample in each series (a page scraped from a component shows only the series
its traffic made; tests/integration/operations/test_metric_conventions.py scrapes the running components, those
whose metrics are built inline included). The registry counts an HTTP method it does not know as ``other``."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics import MetricWrapperBase

from connectors.http_push import PushMetrics
from connectors.ingest_gateway.app import GatewayMetrics
from connectors.kafka_delivery.metrics import KafkaDeliveryMetrics
from connectors.outbox.metrics import OutboxMetrics
from connectors.pg_mirror.metrics import MirrorMetrics
from connectors.public_feed.metrics import FeedMetrics
from connectors.webhook.metrics import WebhookMetrics
from consumers.sink import SinkMetrics
from govbus.skeleton_publish import PublishMetrics
from schemas.registry.metrics import RegistryMetrics
from streams.engine import EngineMetrics
from streams.normalising.metrics import NormaliserMetrics
from streams.profiles.metrics import ProfileMetrics
from testsupport.metric_conventions import convention_problems

BUILDERS: dict[str, Callable[[CollectorRegistry], object]] = {
    "webhook": lambda r: WebhookMetrics(r, "hz-webhook"),
    "kafka-delivery": lambda r: KafkaDeliveryMetrics(r, "hz-kafka"),
    "mirror": lambda r: MirrorMetrics(r, "hz-mirror"),
    "outbox": lambda r: OutboxMetrics(r, "registration-db"),
    "feed": FeedMetrics,
    "gateway": GatewayMetrics,
    "profiles": ProfileMetrics,
    "normaliser": NormaliserMetrics,
    "registry": RegistryMetrics,
    "streams engine": lambda r: EngineMetrics(r, "normaliser"),
    "sink runtime": SinkMetrics,
    "push": PushMetrics,
    "publisher": PublishMetrics,
}


def _every_series_sampled(registry: CollectorRegistry) -> None:
    """One sample in each metric, each labelled metric with a child for a plain value of each label.

    prometheus_client keeps declared label names in a private attribute (``_labelnames``): the only way to see
    them before a series exists."""
    for collector in list(registry._collector_to_names):
        if not isinstance(collector, MetricWrapperBase):
            continue
        names: tuple[str, ...] = collector._labelnames
        metric = collector.labels(*(f"some-{name}" for name in names)) if names else collector
        if isinstance(metric, Counter):
            metric.inc()
        elif isinstance(metric, Gauge):
            metric.set(1)
        elif isinstance(metric, Histogram):
            metric.observe(0.1)


@pytest.mark.parametrize("component", sorted(BUILDERS))
def test_the_metrics_of_a_component_follow_the_conventions(component: str) -> None:
    registry = CollectorRegistry()
    BUILDERS[component](registry)
    _every_series_sampled(registry)
    text = generate_latest(registry).decode()
    assert "govbus_" in text
    assert convention_problems(text) == []


def test_a_label_breaking_a_convention_is_reported() -> None:
    registry = CollectorRegistry()
    event_id = "6f1c1d8e-0c84-4d39-a1b2-9b0a1c2d3e4f"
    Counter("govbus_deliveries", "x", ["event_id"], registry=registry).labels(event_id).inc()
    Counter("govbus_parked", "x", ["reason"], registry=registry).labels(event_id).inc()
    Gauge("lag", "x", ["reason"], registry=registry).labels("connection refused by 10.0.0.1").set(1)
    Histogram("govbus_batch_milliseconds", "x", registry=registry).observe(3)
    problems = "\n".join(convention_problems(generate_latest(registry).decode()))
    assert "label 'event_id' is not one of the bounded labels" in problems
    assert "lag: not named govbus_" in problems
    assert "free text" in problems
    assert "holds a UUID" in problems
    assert "govbus_batch_milliseconds: a histogram in _seconds or _bytes" in problems


def test_the_registry_counts_an_unknown_http_method_as_other() -> None:
    metrics = RegistryMetrics(CollectorRegistry())
    metrics.observe_request("GET", "/subjects", 200, 0.01)
    metrics.observe_request("BREW", "/subjects", 405, 0.01)
    methods = {labels["method"] for labels in _labels(metrics.registry, "govbus_registry_requests_total")}
    assert methods == {"GET", "other"}


def _labels(registry: CollectorRegistry, sample_name: str) -> list[dict[str, str]]:
    return [sample.labels for family in registry.collect() for sample in family.samples if sample.name == sample_name]
