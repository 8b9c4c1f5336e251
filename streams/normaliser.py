"""The normaliser: a Quix Streams application turning department and dialect records into canonical events.

    <prefix>.dept.<department>.<item>                 \\                          /--> <prefix>.canonical.<item>
    <prefix>.local.<department>.<item>.<dialect> ...   --(decode, dedup, normalise)    (header govbus.fixes)
                                                      /                          \\--> <prefix>.dead-letter.<item>

For every source topic of every item (the department topic, which carries the canonical
"identity" dialect, and the item's local dialect topics: :mod:`streams.dialects`), one step
(:class:`NormaliseStep`) handles each message:

1. decode it (Avro, Confluent wire format); while the registry cannot be reached, wait and try
   again for up to ``GOVBUS_NORMALISER_REGISTRY_WAIT_SECONDS``, then stop the worker (the
   registry's outage is not the message's fault: nothing is dead-lettered or committed for it);
2. look its event id up (:mod:`streams.normalising.dedup`): a re-sent event produces nothing;
3. normalise and validate it, and write the canonical event keyed by ``item.key_of(record)``,
   with the envelope kept and the headers ``govbus.fixes`` (JSON list of what was changed),
   ``govbus.dialect`` and the CloudEvents attributes (``ce_*``, ``content-type``:
   :mod:`govbus.cloud_events`); or write anything rejected, undecodable bytes included, to the dead-letter
   topic with its original key and bytes, the reason, and its source topic, partition and offset
   (:mod:`streams.dead_letters`). A poison message never stops the stream.

**Exactly-once** (:mod:`streams.engine`): the outputs, the event-id store's changelog and the
input offsets are committed in one Kafka transaction. A worker killed at any point has written
nothing that read_committed readers see since its last commit, and its successor resumes from
that commit with the event ids committed with it: no output is lost (an id is never committed
without its output) and none is written twice.

**Source heartbeats** (:mod:`streams.normalising.heartbeat`): for each decoded event the step also notes the
record's broker timestamp under its source (the topic's department, the item, the envelope's source system); a
thread writes the newest per source to ``<prefix>.sources``, outside the transaction, for operators to find silent
sources (``govbus sources silent``).

Run it with ``govbus streams normalise`` or ``python -m streams.normaliser``; settings come from
:class:`~streams.normalising.settings.NormaliserSettings` (``GOVBUS_*``). It creates its topics
first (:func:`~streams.normalising.topics.ensure_normaliser_topics`) and serves Prometheus
``/metrics`` on ``GOVBUS_NORMALISER_METRICS_PORT`` (:mod:`streams.normalising.metrics`).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from prometheus_client import CollectorRegistry
from quixstreams import Application, message_context

from govbus import clients
from govbus.exceptions import RegistryError
from govbus.logs import configure_logging
from govbus.serde import WireDecoder, WireEncoder
from govbus.service import run_entrypoint
from govbus.topic_names import canonical_topic, dead_letter_topic, value_subject
from schemas.catalogue import load_catalogue
from streams.dead_letters import DeadLetter
from streams.dialects import DIALECT_HEADER, dialects_for
from streams.engine import (
    KeyState,
    Output,
    build_application,
    input_topic,
    write_step,
)
from streams.engine import run_worker as run_engine_worker
from streams.normalising.dedup import EventIdWindow
from streams.normalising.handler import Accepted, Decoded, ItemNormaliser, Rejected
from streams.normalising.heartbeat import RunningHeartbeat, SourceHeartbeat, start_heartbeat
from streams.normalising.metrics import NormaliserMetrics
from streams.normalising.settings import NormaliserSettings
from streams.normalising.topics import ensure_normaliser_topics

log = logging.getLogger(__name__)

_REGISTRY_RETRY_MAX_DELAY = 5.0


def item_normaliser(settings: NormaliserSettings, item_name: str, registry: SchemaRegistryClient,
                    decoder: WireDecoder) -> ItemNormaliser:
    """The decode/normalise/encode logic of one item (registers its canonical event schema)."""
    item = load_catalogue().get(item_name)
    topic = canonical_topic(item.name, settings.topic_prefix)
    encoder = WireEncoder(registry, value_subject(topic), item.event_schema())
    return ItemNormaliser(item, dialects_for(item.name), settings.topic_prefix, decoder, encoder,
                          registry_url=settings.registry.url)


class NormaliseStep:
    """Handles one message of one source topic: what to write for it (none, a canonical event, a dead letter)."""

    def __init__(self, normaliser: ItemNormaliser, source: str, settings: NormaliserSettings,
                 metrics: NormaliserMetrics, heartbeat: SourceHeartbeat | None = None) -> None:
        self._normaliser = normaliser
        self._item = normaliser.item.name
        self._department = normaliser.dialect_of(source).department
        self._heartbeat = heartbeat
        self._canonical = canonical_topic(self._item, settings.topic_prefix)
        self._dead_letters = dead_letter_topic(self._item, settings.topic_prefix)
        self._dedup = EventIdWindow(settings.normaliser_dedup_window_seconds) if settings.normaliser_dedup else None
        self._registry_wait = settings.normaliser_registry_wait_seconds
        self._metrics = metrics
        self._processed = metrics.processed.labels(item=self._item, dialect=normaliser.dialect_of(source).name)
        self._deduplicated = metrics.deduplicated.labels(item=self._item)
        self._latency = metrics.latency.labels(item=self._item)

    def __call__(self, value: bytes | None, key: bytes | None, timestamp: int, headers: Any,
                 state: KeyState | None = None) -> list[Output]:
        started = time.perf_counter()
        self._processed.inc()
        context = message_context()
        decoded = self._decode(value, context.topic)
        if self._heartbeat is not None and isinstance(decoded, Decoded):
            self._heartbeat.note(self._department, self._item, decoded.event.get("source_system"), timestamp)
        dedup, scope = self._dedup, self._dedup_scope(key, state)
        outputs: list[Output] = []
        if isinstance(decoded, Decoded) and dedup is not None and scope is not None and dedup.seen(scope,
                                                                                                 decoded.event_id):
            self._deduplicated.inc()
            log.info("duplicate event dropped", extra={"event_id": decoded.event_id, "topic": context.topic,
                                                       "partition": context.partition, "offset": context.offset})
        else:
            outcome = self._normaliser.normalise(decoded) if isinstance(decoded, Decoded) else decoded
            outputs.append(self._output(outcome, key, value, context))
            if isinstance(decoded, Decoded) and dedup is not None and scope is not None:
                dedup.mark(scope, decoded.event_id)
        self._latency.observe(time.perf_counter() - started)
        return outputs

    @staticmethod
    def _dedup_scope(key: bytes | None, state: KeyState | None) -> KeyState | None:
        """Where this message's event id is looked up: its key's state; None for a keyless message (state is
        scoped by key, and every keyless message of the partition would share one scope)."""
        return state if key is not None else None

    def _output(self, outcome: Accepted | Rejected, key: bytes | None, value: bytes | None, context: Any) -> Output:
        if isinstance(outcome, Accepted):
            self._metrics.accepted(self._item, outcome)
            return Output(self._canonical, outcome.key, outcome.value, outcome.headers())
        self._metrics.rejected_one(self._item, outcome)
        log.info("dead-lettered", extra={"topic": context.topic, "partition": context.partition,
                                         "offset": context.offset, "rule": outcome.rule, "stage": outcome.stage,
                                         "field": outcome.field})
        letter = DeadLetter(outcome.reason, outcome.stage, context.topic, context.partition, context.offset,
                            field=outcome.field, rule=outcome.rule)
        headers = [*letter.headers(), ("govbus.dlq.event_id", outcome.event_id.encode()),
                   (DIALECT_HEADER, outcome.dialect.encode())]
        return Output(self._dead_letters, key, value, headers)

    def _decode(self, raw: bytes | None, topic: str) -> Decoded | Rejected:
        """Decode; while the registry cannot be reached, wait and try again (not the message's fault)."""
        deadline = time.monotonic() + self._registry_wait
        delay = 0.25
        while True:
            try:
                return self._normaliser.decode(raw, topic)
            except RegistryError as error:
                if time.monotonic() + delay > deadline:
                    raise RegistryError(f"{error}; gave up after {self._registry_wait:.0f} s: the worker stops "
                                        "without committing and resumes there when restarted") from error
                log.warning("schema registry unreachable, retrying in %.1f s: %s", delay, error)
                time.sleep(delay)
                delay = min(delay * 2, _REGISTRY_RETRY_MAX_DELAY)


def build_app(settings: NormaliserSettings, collector: CollectorRegistry,
              heartbeat: RunningHeartbeat | None = None) -> Application:
    """The Quix application: one step per source topic of every item, outputs in the transaction; each step notes
    its events' sources in ``heartbeat`` (none: no source heartbeats)."""
    app = build_application(settings, settings.normaliser_app_id, collector, "normaliser",
                            settings.log_level)
    metrics = NormaliserMetrics(collector)
    if heartbeat is not None:
        collector.register(heartbeat.metrics)
    registry = clients.registry_client(settings.registry)
    decoder = WireDecoder(registry)
    for item_name in settings.normaliser_items:
        normaliser = item_normaliser(settings, item_name, registry, decoder)
        for source in normaliser.topics:
            step = NormaliseStep(normaliser, source, settings, metrics, heartbeat.heartbeat if heartbeat else None)
            write_step(app, app.dataframe(input_topic(app, source)), step, stateful=settings.normaliser_dedup)
    return app


def run_worker(settings: NormaliserSettings) -> None:
    """Create the topics, start the source heartbeats, serve /metrics when a port is set, process until SIGTERM;
    then write the last heartbeats."""
    configure_logging(settings.log_level)
    log.info("normaliser settings: %s", json.dumps(settings.model_dump(mode="json")))
    specs = ensure_normaliser_topics(settings)
    log.info("%d topics ready with %d partitions", len(specs), settings.normaliser_partitions)
    heartbeat = start_heartbeat(settings)
    try:
        run_engine_worker(lambda collector: build_app(settings, collector, heartbeat), settings,
                          settings.normaliser_metrics_port)
    finally:
        if heartbeat is not None:
            heartbeat.heartbeat.stop()


if __name__ == "__main__":  # the same code as ``govbus run normaliser``
    sys.exit(run_entrypoint(NormaliserSettings, run_worker, "normaliser", "GOVBUS_NORMALISER_*, GOVBUS_STREAMS_*"))
