"""The walking skeleton's processor: a faust-streaming agent validating enterprise registrations.

department topic --(validate)--> canonical topic
                  \\--(undecodable or invalid)--> dead-letter topic (original bytes + reason)

Run it with ``govbus skeleton process`` or ``python -m streams.skeleton``; topics and
addresses come from :class:`SkeletonSettings` (``GOVBUS_*`` environment variables).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import faust
from confluent_kafka.schema_registry import SchemaRegistryClient

from govbus.envelope import envelope_schema
from govbus.serde import WireDecoder, WireEncoder
from govbus.settings import GovbusSettings
from schemas.catalogue import record_schema
from streams.dead_letters import DeadLetter
from streams.enterprise_validator import Accepted, EnterpriseRegistrationValidator
from streams.metrics import ProcessorMetrics
from streams.worker import run_faust_worker

log = logging.getLogger(__name__)


class SkeletonSettings(GovbusSettings):
    """Settings of the skeleton's processor and delivery (env ``GOVBUS_SKELETON_*`` etc.)."""

    kafka_bootstrap: str = "127.0.0.1:9092"
    registry_url: str = "http://127.0.0.1:8081"
    skeleton_source_topic: str = "govbus.dept.market-regulation.enterprise-registration"
    skeleton_canonical_topic: str = "govbus.canonical.enterprise-registration"
    skeleton_dead_letter_topic: str = "govbus.dead-letter.enterprise-registration"
    skeleton_app_id: str = "govbus-skeleton-validator"
    skeleton_partitions: int = 3
    skeleton_metrics_port: int = 0
    log_level: str = "INFO"

    def topics(self) -> list[str]:
        return [self.skeleton_source_topic, self.skeleton_canonical_topic, self.skeleton_dead_letter_topic]


def canonical_encoder(settings: SkeletonSettings, registry: SchemaRegistryClient) -> WireEncoder:
    schema = envelope_schema(record_schema("enterprise_registration"), "EnterpriseRegistrationEvent")
    return WireEncoder(registry, f"{settings.skeleton_canonical_topic}-value", schema)


def build_app(settings: SkeletonSettings, metrics: ProcessorMetrics) -> faust.App:
    """The faust app with one agent: validate each event, route it to canonical or dead letters."""
    app = faust.App(
        settings.skeleton_app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        topic_partitions=settings.skeleton_partitions,
        broker_session_timeout=10,
        broker_heartbeat_interval=2,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        producer_acks=-1,
    )
    source = app.topic(settings.skeleton_source_topic, key_serializer="raw", value_serializer="raw")
    canonical = app.topic(settings.skeleton_canonical_topic, key_serializer="raw", value_serializer="raw")
    dead_letters = app.topic(settings.skeleton_dead_letter_topic, key_serializer="raw", value_serializer="raw")
    registry = SchemaRegistryClient({"url": settings.registry_url})
    validator = EnterpriseRegistrationValidator(WireDecoder(registry), canonical_encoder(settings, registry))

    @app.agent(source)
    async def validate(stream: Any) -> None:
        async for event in stream.events():
            started = time.perf_counter()
            message = event.message
            outcome = validator.handle(event.value)
            metrics.processed.inc()
            if isinstance(outcome, Accepted):
                await canonical.send(key=event.key, value=outcome.value)
                metrics.accepted.inc()
            else:
                letter = DeadLetter(outcome.reason, outcome.stage, message.topic, message.partition,
                                    message.offset, field=outcome.field, rule=outcome.rule)
                await dead_letters.send(key=event.key, value=event.value, headers=letter.headers())
                metrics.dead_lettered(outcome.stage, outcome.rule)
                log.info("dead-lettered", extra={"offset": message.offset, "reason": outcome.reason})
            metrics.latency.observe(time.perf_counter() - started)

    return app


def run_worker(settings: SkeletonSettings) -> None:
    """Run the processor until SIGTERM; serve /metrics when a metrics port is set."""
    run_faust_worker(
        lambda collector: build_app(settings, ProcessorMetrics(collector, "enterprise-registration-validator")),
        settings.skeleton_metrics_port, settings.log_level)


if __name__ == "__main__":
    run_worker(SkeletonSettings())
