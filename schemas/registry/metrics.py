"""The registry's Prometheus metrics, in one object with an injected ``CollectorRegistry``."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})
"""the HTTP methods counted by name (a client may send any token as a method: labels stay bounded)"""


class RegistryMetrics:
    """Metrics of one registry instance.

    - ``govbus_registry_requests_total{method,endpoint,status}``: HTTP requests answered;
      ``endpoint`` is the route template (e.g. ``/subjects/{subject}/versions``), not the path;
      ``method`` is one of :data:`METHODS`, any other a client sends is counted as ``other``.
    - ``govbus_registry_request_seconds{method,endpoint}``: time to answer, in seconds.
    - ``govbus_registry_schemas_registered_total``: new subject versions this instance wrote.
    - ``govbus_registry_is_primary``: 1 while this instance is the primary writer, else 0.
    """

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "govbus_registry_requests", "HTTP requests answered, by route and status",
            ["method", "endpoint", "status"], registry=registry,
        )
        self.request_seconds = Histogram(
            "govbus_registry_request_seconds", "Seconds taken to answer an HTTP request",
            ["method", "endpoint"], registry=registry,
        )
        self.schemas_registered = Counter(
            "govbus_registry_schemas_registered", "New subject versions registered by this instance",
            registry=registry,
        )
        self.is_primary = Gauge(
            "govbus_registry_is_primary", "1 while this instance is the primary writer, else 0",
            registry=registry,
        )

    def observe_request(self, method: str, endpoint: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "other"
        self.requests.labels(method, endpoint, str(status)).inc()
        self.request_seconds.labels(method, endpoint).observe(seconds)

    def set_primary(self, primary: bool) -> None:
        self.is_primary.set(1 if primary else 0)

    def render(self) -> bytes:
        """The metrics in Prometheus text format."""
        return generate_latest(self.registry)
