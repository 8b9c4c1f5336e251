"""The normaliser: faust agents turning department and local-dialect records into canonical events.

    <prefix>.dept.<department>.<item>                 \\                          /--> <prefix>.canonical.<item>
    <prefix>.local.<department>.<item>.<dialect> ...   --(decode, dedup, normalise)    (header govbus.fixes)
                                                      /                          \\--> <prefix>.dead-letter.<item>

One agent per item reads the item's department topic (the canonical "identity" dialect) and its
local dialect topics (:mod:`streams.dialects`); the source topic picks the dialect. Each event is
decoded (Avro, Confluent wire format), looked up by event id (:mod:`streams.normalising.dedup`:
a re-sent event produces nothing), normalised and validated, and written to the canonical topic
keyed by ``item.key_of(record)`` with the envelope kept, the headers ``govbus.fixes`` (JSON list
of what was changed) and ``govbus.dialect``. Anything rejected, undecodable bytes included, goes
to the dead-letter topic with its original bytes and key, the reason, and its source topic,
partition and offset (:mod:`streams.dead_letters`): a poison message never stops a stream.

Restart safety (:mod:`streams.guards`, as in the profile builder): each event's offset is checked
before it is acknowledged; when faust skipped offsets of a partition (within an assignment, or at
its start past the group's committed offset) the worker stops with exit code 70 without committing
that event, and so it does on any other unexpected error in an agent, and when table recovery
stalls. An agent's stop first lets the producer deliver what it was handed (``drain_and_stop``):
an event id is marked in the table before its output is acknowledged, and an output lost at the
exit whose id reached the changelog would otherwise be dropped as a duplicate after the restart.
Run it under a supervisor that restarts it; the restarted worker replays from the last commit and
its event-id table drops what was already handled.

Run it with ``govbus streams normalise`` or ``python -m streams.normaliser``; settings come from
:class:`~streams.normalising.settings.NormaliserSettings` (``GOVBUS_*``). It creates its topics
first (:func:`~streams.normalising.topics.ensure_normaliser_topics`) and serves Prometheus
``/metrics`` on ``GOVBUS_NORMALISER_METRICS_PORT`` (:mod:`streams.normalising.metrics`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from contextlib import nullcontext
from typing import Any

import faust
from confluent_kafka.schema_registry import SchemaRegistryClient

from govbus.exceptions import RegistryError
from govbus.logs import configure_logging
from govbus.serde import WireDecoder, WireEncoder
from govbus.topic_names import canonical_topic, dead_letter_topic, value_subject
from schemas.catalogue import load_catalogue
from streams.dead_letters import DeadLetter
from streams.dialects import DIALECT_HEADER, dialects_for
from streams.guards import OffsetGuard, drain_and_stop, faust_committed_offsets, guard_app
from streams.normalising.dedup import EventIdTable
from streams.normalising.handler import Accepted, Decoded, ItemNormaliser, Rejected
from streams.normalising.lag import consumer_lag
from streams.normalising.metrics import NormaliserMetrics
from streams.normalising.settings import NormaliserSettings
from streams.normalising.topics import ensure_normaliser_topics
from streams.worker import run_faust_worker

log = logging.getLogger(__name__)

_REGISTRY_RETRY_MAX_SECONDS = 30.0


def item_normaliser(settings: NormaliserSettings, item_name: str, registry: SchemaRegistryClient,
                    decoder: WireDecoder) -> ItemNormaliser:
    """The decode/normalise/encode logic of one item (registers its canonical event schema)."""
    item = load_catalogue().get(item_name)
    topic = canonical_topic(item.name, settings.topic_prefix)
    encoder = WireEncoder(registry, value_subject(topic), item.event_schema())
    return ItemNormaliser(item, dialects_for(item.name), settings.topic_prefix, decoder, encoder)


def build_app(settings: NormaliserSettings, metrics: NormaliserMetrics) -> faust.App:
    """The faust app: one agent per item, a lag timer, the rebalance guards (:mod:`streams.guards`)."""
    app = faust.App(
        settings.normaliser_app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        topic_partitions=settings.normaliser_partitions,
        broker_session_timeout=10,
        broker_heartbeat_interval=2,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        producer_acks=-1,
        producer_linger_ms=5,
        producer_max_batch_size=1_048_576,  # 16 KiB (the default) holds ~8 canonical events with their fixes:
        # aiokafka then waits for each partition's in-flight batch, which capped the rate at ~800/s here
        table_cleanup_interval=60.0,
    )
    guard = OffsetGuard(faust_committed_offsets(app.consumer)) if settings.normaliser_offset_gap_check else None
    registry = SchemaRegistryClient({"url": settings.registry_url})
    decoder = WireDecoder(registry)
    sources: list[str] = []
    for item_name in settings.normaliser_items:
        normaliser = item_normaliser(settings, item_name, registry, decoder)
        sources.extend(normaliser.topics)
        _add_agent(app, settings, normaliser, metrics, guard)
    guard_app(app, settings.normaliser_stall_seconds, guard, sources)

    async def measure_lag() -> None:
        try:
            lags = await consumer_lag(app.consumer, set(sources))
        except Exception as error:  # a failed measurement must not stop the worker
            log.warning("could not measure consumer lag: %r", error)
            return
        for (topic, partition), lag in lags.items():
            metrics.lag.labels(topic=topic, partition=str(partition)).set(lag)

    app.timer(settings.normaliser_lag_interval_seconds)(measure_lag)
    return app


def _add_agent(app: faust.App, settings: NormaliserSettings, normaliser: ItemNormaliser,
               metrics: NormaliserMetrics, guard: OffsetGuard | None) -> None:
    item = normaliser.item.name
    source = app.topic(*normaliser.topics, key_serializer="raw", value_serializer="raw")
    canonical = app.topic(canonical_topic(item, settings.topic_prefix), key_serializer="raw", value_serializer="raw")
    dead_letters = app.topic(dead_letter_topic(item, settings.topic_prefix), key_serializer="raw",
                             value_serializer="raw")
    seen = (EventIdTable(app, item, settings.normaliser_dedup_window_seconds, settings.normaliser_partitions)
            if settings.normaliser_dedup else None)

    processed = {topic: metrics.processed.labels(item=item, dialect=normaliser.dialect_of(topic).name)
                 for topic in normaliser.topics}
    deduplicated, latency = metrics.deduplicated.labels(item=item), metrics.latency.labels(item=item)

    async def normalise(stream: Any) -> None:
        try:
            await normalise_events(stream)
        except Exception as error:  # skipped offsets or anything unexpected: stop before the event is committed
            await drain_and_stop(app, f"normalise-{item}", error)  # the event ids are marked before the acks

    async def normalise_events(stream: Any) -> None:
        async for event in stream.events():
            started = time.perf_counter()
            message = event.message
            if guard is not None:
                guard.check(message.tp, message.offset)  # before the event is acknowledged (the next iteration)
            processed[message.topic].inc()
            decoded = await _decode(normaliser, event.value, message.topic, guard)
            # undecodable bytes have no event id: their position stands for it, so a replay after a stop
            # without commit does not dead-letter them twice
            handled_id = (decoded.event_id if isinstance(decoded, Decoded)
                          else f"undecodable:{message.topic}[{message.partition}]@{message.offset}")
            if seen is not None and seen.seen(handled_id):
                deduplicated.inc()
                log.info("duplicate event %s dropped (%s[%d]@%d)", handled_id, message.topic, message.partition,
                         message.offset)
            else:
                outcome = normaliser.normalise(decoded) if isinstance(decoded, Decoded) else decoded
                if isinstance(outcome, Accepted):
                    # await send, not send_soon: faust's producer buffer drains one message at a time and was
                    # about 1.5x slower here (it also carries the table's changelog writes)
                    await canonical.send(key=outcome.key, value=outcome.value, headers=outcome.headers())
                    metrics.accepted(item, outcome)
                else:
                    await dead_letters.send(key=event.key, value=event.value, headers=_letter(outcome, message))
                    metrics.rejected_one(item, outcome)
                    log.info("dead-lettered %s[%d]@%d: %s (%s)", message.topic, message.partition, message.offset,
                             outcome.rule, outcome.reason)
                if seen is not None:
                    seen.mark(handled_id)
            latency.observe(time.perf_counter() - started)

    app.agent(source, name=f"normalise-{item}")(normalise)


async def _decode(normaliser: ItemNormaliser, raw: bytes | None, topic: str,
                  guard: OffsetGuard | None = None) -> Decoded | Rejected:
    """Decode; while the registry cannot be reached, wait and try again (not the message's fault)."""
    delay = 0.5
    while True:
        try:
            return normaliser.decode(raw, topic)
        except RegistryError as error:
            log.warning("schema registry unreachable, retrying in %.1f s: %s", delay, error)
            with guard.waiting() if guard is not None else nullcontext():
                await asyncio.sleep(delay)
            delay = min(delay * 2, _REGISTRY_RETRY_MAX_SECONDS)


def _letter(outcome: Rejected, message: Any) -> list[tuple[str, bytes]]:
    letter = DeadLetter(outcome.reason, outcome.stage, message.topic, message.partition, message.offset,
                        field=outcome.field, rule=outcome.rule)
    extra = [("govbus.dlq.event_id", outcome.event_id.encode()), (DIALECT_HEADER, outcome.dialect.encode())]
    return letter.headers() + extra


def run_worker(settings: NormaliserSettings) -> None:
    """Create the topics, serve /metrics when a port is set, run until SIGTERM."""
    configure_logging(settings.log_level)
    log.info("normaliser settings: %s", json.dumps(settings.model_dump(mode="json")))
    specs = ensure_normaliser_topics(settings)
    log.info("%d topics ready with %d partitions", len(specs), settings.normaliser_partitions)
    run_faust_worker(lambda collector: build_app(settings, NormaliserMetrics(collector)),
                     settings.normaliser_metrics_port, settings.log_level)


if __name__ == "__main__":
    run_worker(NormaliserSettings())
