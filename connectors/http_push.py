"""Push canonical events to an HTTP receiver as JSON, one POST per event.

Runs on the sink runtime (:mod:`consumers.sink`): a batch's offsets are committed only after the
receiver answered 2xx to each of its events; any other
answer, a timeout or a refused connection is retried with backoff. Each request carries the
event id in ``Idempotency-Key`` so a receiver can drop a re-delivery.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import signal
import threading
import time
import uuid
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from pydantic import Field

from consumers.runtime import KafkaMessage, RecordByRecord, RetryPolicy, StoppedWhileRetrying, sink_options
from consumers.sink import SinkMetrics, SinkOptions, SinkRuntime
from govbus import clients
from govbus.exceptions import DecodeError, DeliveryError
from govbus.serde import WireDecoder
from govbus.settings import ServiceSettings

log = logging.getLogger(__name__)
PUSH_BATCH = 50
"""records per batch: one POST each, the batch's offsets committed after its last answer"""


class HttpPushSettings(ServiceSettings):
    """Env ``GOVBUS_PUSH_*``: which topic to push where."""

    push_topic: str = Field(default="govbus.canonical.enterprise-registration", description="topic pushed")
    push_url: str = Field(default="http://127.0.0.1:8099/events", description="receiver the events are POSTed to")
    push_group: str = Field(default="govbus-http-push", description="consumer group (its offsets: the position)")
    push_timeout_seconds: float = Field(default=5.0, description="seconds one POST may take")
    push_metrics_port: int = Field(default=0, description="port of /metrics (0: none)")
    push_retry_initial_seconds: float = Field(default=0.2, description="first wait after a failed POST")
    push_retry_max_seconds: float = Field(default=10.0, description="longest wait between retries")
    push_retry_jitter_seconds: float = Field(default=0.5, description="random extra wait, up to this")


class PushMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.delivered = Counter("govbus_push_delivered", "Events the receiver acknowledged with 2xx",
                                 registry=registry)
        self.failed_attempts = Counter("govbus_push_failed_attempts", "Attempts that did not get a 2xx",
                                       labelnames=["reason"], registry=registry)
        self.latency = Histogram("govbus_push_request_seconds", "Duration of one successful POST",
                                 registry=registry)


def to_json(value: Any) -> Any:
    """Avro-decoded values (dates, timestamps, UUIDs, bytes) as JSON-friendly values."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


class HttpPushHandler:
    """Decodes one canonical event and POSTs it; raises DeliveryError unless the answer is 2xx."""

    def __init__(self, url: str, decoder: WireDecoder, client: httpx.Client, metrics: PushMetrics) -> None:
        self._url = url
        self._decoder = decoder
        self._client = client
        self._metrics = metrics

    def __call__(self, message: KafkaMessage) -> None:
        try:
            event = to_json(self._decoder.decode(message.value()).value)
        except DecodeError:  # canonical topics hold only valid events: the runtime's policy stops (a bug upstream)
            raise
        body = json.dumps(event, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": event["event_id"]}
        started = time.perf_counter()
        try:
            response = self._client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as error:
            self._metrics.failed_attempts.labels(reason=type(error).__name__).inc()
            raise DeliveryError(f"POST {self._url} failed: {error!r}") from error
        if not response.is_success:
            self._metrics.failed_attempts.labels(reason=str(response.status_code)).inc()
            raise DeliveryError(f"POST {self._url} answered {response.status_code}")
        self._metrics.latency.observe(time.perf_counter() - started)
        self._metrics.delivered.inc()


def run(settings: HttpPushSettings) -> None:
    """Push until SIGTERM or SIGINT, then leave the group cleanly."""
    collector = CollectorRegistry()
    metrics = PushMetrics(collector)
    if settings.push_metrics_port:
        start_http_server(settings.push_metrics_port, addr=settings.metrics_host, registry=collector)
    decoder = WireDecoder(clients.registry_client(settings.registry))
    with httpx.Client(timeout=settings.push_timeout_seconds) as client:
        stopping = threading.Event()
        sink = RecordByRecord([settings.push_topic], HttpPushHandler(settings.push_url, decoder, client, metrics),
                              RetryPolicy(settings.push_retry_initial_seconds, settings.push_retry_max_seconds,
                                          settings.push_retry_jitter_seconds), stopping)
        runtime = SinkRuntime(clients.consumer(settings.kafka, settings.push_group, sink_options()), sink,
                              SinkOptions("push", batch_size=PUSH_BATCH, batch_wait=0.05), SinkMetrics(collector))

        def stop(*_: object) -> None:
            stopping.set()
            runtime.stop()

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, stop)
        log.info("pushing", extra={"topic": settings.push_topic, "url": settings.push_url})
        try:
            runtime.run()
        except StoppedWhileRetrying as stopped:
            log.info("stopped while retrying; the batch stays uncommitted", extra={"reason": str(stopped)})


if __name__ == "__main__":
    from govbus.logs import configure_logging

    configure_logging()
    run(HttpPushSettings())
