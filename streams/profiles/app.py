"""The faust app of the profile builder: a re-key stage and a build stage, joined on tables.

faust has no join operator, so the join is a table per profile keyed by the profile key::

    canonical.<item> --rekey-<item>--> <app>-<profile>-input --build-<profile>--> profile.<profile>
       (keyed by record)   |  (keyed by profile key)      |  table <profile>-profile
                           table anchors-<item>              (state per profile key)
                           (profile keys per record)

**Re-key** (one agent per source item, one event at a time): decode the canonical event,
:func:`~streams.profiles.routing.route` it, send each forward (the canonical bytes unchanged,
with side, version and removal in headers) keyed by profile key, and record the profile keys of
the record in the ``anchors-<item>`` table (co-partitioned with the canonical topic).

**Build** (one agent per profile, in batches): for each forward, apply the change to the key's
state (:func:`~streams.profiles.state.apply_change`) and build the profile; send every profile
of the batch, **wait until the broker acknowledged them**, and only then write the new states to
the table. So a state in the changelog always has its profiles on the profile topic before it:
after a crash, a replayed forward the recovered state already holds is skipped (its profile is
out), and one it does not hold is applied again and re-emits the identical profile (same event
id, same bytes). faust commits offsets only after flushing the producer, so nothing before a
committed offset is lost. The table's changelog partition is the key's murmur2 partition
(:class:`KeyPartitionedTable`), which is how the forwards were partitioned too: a key's state
lives in the changelog partition of its input partition (checked for every forward).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import faust
from aiokafka.partitioner import DefaultPartitioner
from confluent_kafka.schema_registry import SchemaRegistryClient

from govbus.exceptions import ConfigurationError, DecodeError
from govbus.serde import WireDecoder, WireEncoder
from govbus.topic_names import item_segment, value_subject
from schemas.catalogue.profiles import HEADER_CAUSED_BY, HEADER_EVENT_ID, ProfileDefinition
from streams.guards import OffsetGuard, faust_committed_offsets, guard_app, stop_without_commit
from streams.profiles.metrics import ProfileMetrics
from streams.profiles.routing import Forward, History, Route, route, routes_for
from streams.profiles.state import (
    Cause,
    Change,
    Emit,
    State,
    apply_change,
    avro_native,
    profile_content,
    profile_event,
    profile_event_id,
)
from streams.profiles.topology import ProfileSettings, ProfileTopology

log = logging.getLogger(__name__)

HEADER_SIDE = "govbus.profile.side"
HEADER_VERSION = "govbus.profile.version"
HEADER_REMOVE = "govbus.profile.remove"

Headers = list[tuple[str, bytes]]


def header_map(headers: Any) -> dict[str, str]:
    """A message's headers (list of pairs or mapping) as ``{name: text}``."""
    pairs = headers.items() if isinstance(headers, Mapping) else (headers or [])
    return {str(k): (v.decode() if isinstance(v, bytes) else str(v)) for k, v in pairs}


@dataclass(frozen=True)
class RekeyPlan:
    forwards: list[Forward]
    history: History | None
    """The record's new history when it changed (write it to the table), else None."""


class Rekeyer:
    """Decides the forwards of one canonical event of ``item`` (no I/O but decoding)."""

    def __init__(self, item: str, routes: Sequence[Route], decoder: WireDecoder, metrics: ProfileMetrics) -> None:
        self.item = item
        self.routes = tuple(routes)
        self._decoder = decoder
        self._metrics = metrics

    def plan(self, value: bytes | None, history: Mapping[str, Sequence[str]] | None) -> RekeyPlan | None:
        """The forwards of ``value`` (None: undecodable, counted and skipped)."""
        try:
            envelope = self._decoder.decode(value).value
        except DecodeError as error:
            self._metrics.rekey_skipped.labels(item=self.item, reason="undecodable").inc()
            log.error("canonical event skipped: undecodable", extra={"item": self.item, "error": str(error)})
            return None
        forwards, new_history = route(self.routes, str(envelope["record_key"]), envelope.get("record"), history or {})
        if not forwards:
            self._metrics.rekey_skipped.labels(item=self.item, reason="no_anchor").inc()
        return RekeyPlan(forwards, new_history if new_history != (history or {}) else None)

    @staticmethod
    def headers(forward: Forward, version: int) -> Headers:
        return [(HEADER_SIDE, forward.side.encode()), (HEADER_VERSION, str(version).encode()),
                (HEADER_REMOVE, b"1" if forward.remove else b"0")]


@dataclass(frozen=True)
class ProfileOutput:
    value: bytes | None
    headers: Headers
    emit: Emit


class ProfileBuilder:
    """Reads forwards and encodes profile events for one profile (no I/O but the codecs)."""

    def __init__(self, definition: ProfileDefinition, decoder: WireDecoder, encoder: WireEncoder) -> None:
        self.definition = definition
        self._decoder = decoder
        self._encoder = encoder

    def read(self, value: bytes | None, headers: Any) -> tuple[Change, Cause]:
        """The change and cause a forward carries; :class:`DecodeError` if it is not one."""
        found = header_map(headers)
        try:
            side, version, remove = found[HEADER_SIDE], int(found[HEADER_VERSION]), found[HEADER_REMOVE] == "1"
        except (KeyError, ValueError) as error:
            raise DecodeError(f"not a profile forward: header {error} missing or invalid") from None
        if side not in {s.side for s in self.definition.sides}:
            raise DecodeError(f"profile {self.definition.name!r} has no side {side!r}")
        envelope = self._decoder.decode(value).value
        record = None if remove or envelope.get("record") is None else avro_native(envelope["record"])
        operation = "REMOVE" if remove and envelope["operation"] != "DELETE" else str(envelope["operation"])
        cause = Cause(str(envelope["event_id"]), str(envelope["data_item"]), operation, str(envelope["record_key"]),
                      avro_native(envelope["occurred_at"]))
        return Change(side, str(envelope["record_key"]), version, record), cause

    def output(self, key: str, state: State, emit: Emit, cause: Cause) -> ProfileOutput:
        """The message for ``emit``: the encoded profile, or a tombstone; headers name the event."""
        content = profile_content(self.definition, key, state) if emit is Emit.PROFILE else None
        if emit is Emit.PROFILE and content is None:
            raise ValueError(f"no profile to emit for {key!r} without an anchor record")
        event_id = profile_event_id(self.definition.name, key, cause.event_id)
        headers: Headers = [(HEADER_EVENT_ID, event_id.encode()), (HEADER_CAUSED_BY, cause.event_id.encode())]
        value = None if content is None else self._encoder.encode(profile_event(self.definition, content, cause))
        return ProfileOutput(value, headers, emit)


def _faust_app(settings: ProfileSettings) -> faust.App:
    settings.profiles_data_dir.mkdir(parents=True, exist_ok=True)
    return faust.App(
        settings.profiles_app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        processing_guarantee="at_least_once",
        topic_partitions=settings.profiles_partitions,
        topic_allow_declare=False,
        table_standby_replicas=0,
        broker_session_timeout=10,
        broker_heartbeat_interval=2,
        broker_commit_interval=settings.profiles_commit_interval,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        web_enabled=bool(settings.profiles_web_port),
        web_port=settings.profiles_web_port or 6066,
        web_bind="127.0.0.1",
        datadir=str(settings.profiles_data_dir),
    )


def build_app(settings: ProfileSettings, metrics: ProfileMetrics,
              registry: SchemaRegistryClient | None = None) -> faust.App:
    """The faust app with the agents and tables ``settings`` asks for (registers the profile schemas)."""
    topology = ProfileTopology(settings)
    definitions = settings.definitions()
    registry = registry or SchemaRegistryClient({"url": settings.registry_url})
    decoder = WireDecoder(registry)
    app = _faust_app(settings)
    guard = OffsetGuard(faust_committed_offsets(app.consumer)) if settings.profiles_offset_gap_check else None
    inputs = {d.name: app.topic(topology.input_topic(d.name), key_serializer="raw", value_serializer="raw",
                                partitions=settings.profiles_partitions) for d in definitions}
    if settings.profiles_rekey:
        for item in topology.source_items():
            _add_rekey_agent(app, topology, Rekeyer(item, routes_for(item, definitions), decoder, metrics),
                             inputs, metrics, guard)
    if settings.profiles_build:
        for definition in definitions:
            output = topology.output_topic(definition.name)
            encoder = WireEncoder(registry, value_subject(output), definition.schema)
            _add_build_agent(app, topology, ProfileBuilder(definition, decoder, encoder), inputs[definition.name],
                             metrics, guard)
    sources = [topology.canonical_topic(item) for item in topology.source_items()] if settings.profiles_rekey else []
    sources += [topology.input_topic(d.name) for d in definitions] if settings.profiles_build else []
    guard_app(app, settings.profiles_stall_seconds, guard, sources)
    return app


def _add_rekey_agent(app: faust.App, topology: ProfileTopology, rekeyer: Rekeyer,
                     inputs: Mapping[str, faust.TopicT], metrics: ProfileMetrics, guard: OffsetGuard | None) -> None:
    item = rekeyer.item
    source = app.topic(topology.canonical_topic(item), key_serializer="raw", value_serializer="raw")
    history_table = None
    if item in topology.history_items():
        history_table = app.Table(topology.anchors_table(item), key_type=bytes,
                                  partitions=topology.settings.profiles_partitions)

    @app.agent(source, name=f"rekey-{item_segment(item)}")
    async def rekey(stream: Any) -> None:
        try:
            await _rekey_events(stream)
        except Exception as error:  # any failure: stop before anything is committed
            stop_without_commit(f"rekey-{item_segment(item)}", error)

    async def _rekey_events(stream: Any) -> None:
        async for event in stream.events():
            started = time.perf_counter()
            message = event.message
            if guard is not None:
                guard.check(message.tp, message.offset)
            table_key = message.key or b""
            history = history_table.get(table_key) if history_table is not None else None
            plan = rekeyer.plan(message.value, history)
            for forward in plan.forwards if plan else []:
                await inputs[forward.profile].send(key=forward.key.encode(), value=message.value,
                                                   headers=rekeyer.headers(forward, message.offset))
                metrics.rekeyed.labels(item=item, profile=forward.profile,
                                       action="remove" if forward.remove else "record").inc()
            if plan is not None and plan.history is not None and history_table is not None:
                history_table[table_key] = plan.history
            metrics.latency.labels(stage="rekey").observe(time.perf_counter() - started)
            metrics.set_lag(message.topic, message.partition, app.consumer.highwater(message.tp), message.offset)


def key_partition(key: bytes, partitions: int) -> int:
    """The partition the producers' partitioner (murmur2, as Kafka's Java client) gives ``key``."""
    return int(DefaultPartitioner()(key, list(range(partitions)), []))


class KeyPartitionedTable(faust.Table):  # type: ignore[type-arg]
    """A table whose changelog partition is the key's murmur2 partition, not the current event's.

    The build stage writes a batch's states after the batch, outside any one event; the key's
    partition is the input partition it came from (the re-key stage produced it with the same
    partitioner and partition count; :meth:`BuildBatch._check_partition` verifies it).
    """

    def partition_for_key(self, key: Any) -> int | None:
        return key_partition(key, self.partitions or 1)


def _add_build_agent(app: faust.App, topology: ProfileTopology, builder: ProfileBuilder, source: faust.TopicT,
                     metrics: ProfileMetrics, guard: OffsetGuard | None) -> None:
    settings = topology.settings
    name = builder.definition.name
    table = app.tables.add(KeyPartitionedTable(app, name=topology.profile_table(name), key_type=bytes,
                                               partitions=settings.profiles_partitions))
    output = app.topic(topology.output_topic(name), key_serializer="raw", value_serializer="raw")
    batch = BuildBatch(app, builder, table, output, metrics, guard)

    @app.agent(source, name=f"build-{name}")
    async def build(stream: Any) -> None:
        try:
            async for events in stream.take_events(settings.profiles_batch_size,
                                                   within=settings.profiles_batch_seconds):
                await batch.run(events)
        except Exception as error:  # any failure: stop before anything is committed
            stop_without_commit(f"build-{name}", error)


class BuildBatch:
    """One batch of the build stage: apply, send, wait for the acks, then write the table."""

    def __init__(self, app: faust.App, builder: ProfileBuilder, table: Any, output: faust.TopicT,
                 metrics: ProfileMetrics, guard: OffsetGuard | None = None) -> None:
        self._app = app
        self._guard = guard
        self._builder = builder
        self._table = table
        self._output = output
        self._metrics = metrics
        self._profile = builder.definition.name

    async def run(self, events: Sequence[Any]) -> None:
        states: dict[bytes, State] = {}
        sent: list[tuple[Any, float, str, Emit]] = []
        for event in events:
            message = event.message
            if self._guard is not None:
                self._guard.check(message.tp, message.offset)
            self._check_partition(message)
            try:
                change, cause = self._builder.read(message.value, message.headers)
            except DecodeError as error:
                log.error("forward skipped: undecodable", extra={"profile": self._profile, "error": str(error)})
                continue
            key = message.key
            state = states[key] if key in states else (self._table.get(key) or {})
            outcome = apply_change(self._builder.definition, state, change)
            self._metrics.inputs.labels(profile=self._profile, side=change.side,
                                        outcome="applied" if outcome.applied else "stale").inc()
            self._metrics.set_lag(message.topic, message.partition, self._app.consumer.highwater(message.tp),
                                  message.offset)
            if not outcome.applied:
                continue
            states[key] = outcome.state
            if outcome.emit is not Emit.NOTHING:
                out = self._builder.output(key.decode(), outcome.state, outcome.emit, cause)
                future = await self._output.send(key=key, value=out.value, headers=out.headers)
                sent.append((future, message.timestamp, change.side, out.emit))
        await self._acknowledged(sent)
        for key, state in states.items():
            self._table[key] = state

    async def _acknowledged(self, sent: list[tuple[Any, float, str, Emit]]) -> None:
        await asyncio.gather(*(future for future, _, _, _ in sent))
        now = time.time()
        for _, timestamp, side, emit in sent:
            self._metrics.latency.labels(stage="build").observe(max(now - timestamp, 0.0))
            if emit is Emit.TOMBSTONE:
                self._metrics.tombstones.labels(profile=self._profile).inc()
            else:
                self._metrics.updates.labels(profile=self._profile, side=side).inc()

    def _check_partition(self, message: Any) -> None:
        expected = key_partition(message.key, self._table.partitions)
        if expected != message.partition:
            raise ConfigurationError(
                f"forward for key {message.key!r} is on partition {message.partition} of {message.topic}, but the "
                f"producer's partitioner puts that key on {expected}: only the re-key stage may write "
                "the input topics, and they must have as many partitions as the profile table")
