"""The profile builder's Quix Streams application: a re-key step and a build step, joined on state.

The join is a state store per profile, keyed by the profile key, fed through an explicit
repartition topic::

    canonical.<item> --re-key--> <app>-<profile>-repartition --build--> profile.<profile>
      (keyed by record)  |  (keyed by profile key)          |   state: {side: {record: [version, record]}}
                         state: profile keys per record       (per profile key)

**Re-key** (a step per source item): decode the canonical event,
:func:`~streams.profiles.routing.route` it, write each forward (the canonical bytes unchanged,
with side, version and removal in headers) keyed by profile key, and keep the profile keys the
record was sent to (its *history*, in the state of the record's key), which a DELETE needs.

**Build** (a step per profile): apply the forward to the key's state
(:func:`~streams.profiles.state.apply_change`), keep the new state, and write the profile (or a
tombstone when the anchor record was deleted), with the headers ``govbus.event_id``, ``govbus.caused_by``
and the CloudEvents attributes (:func:`profile_attributes`).

**Exactly-once** (:mod:`streams.engine`): forwards, profiles, both stores' changelogs and the input
offsets of both steps are committed in one Kafka transaction per commit interval. A worker killed
at any point leaves nothing visible past its last commit, and the next owner resumes there with
the state committed with those offsets: no forward or profile is lost or written twice. A worker
evicted from the group while it still runs (a zombie writer) cannot commit: the broker refuses
offsets sent with a stale group generation, and its transaction is aborted. The state's versions
(a change not above the version held is stale) stay as a second line of defence, counted as
``stale`` in the metrics.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from prometheus_client import CollectorRegistry
from quixstreams import Application, message_context

from govbus import clients
from govbus.cloud_events import Attributes, profile_event_type, profile_source, rfc3339, schema_reference
from govbus.exceptions import DecodeError
from govbus.serde import WireDecoder, WireEncoder
from govbus.topic_names import value_subject
from schemas.catalogue.profiles import HEADER_CAUSED_BY, HEADER_EVENT_ID, ProfileDefinition
from streams.engine import (
    KeyState,
    Output,
    build_application,
    input_topic,
    write_step,
)
from streams.profiles.metrics import ProfileMetrics
from streams.profiles.routing import Forward, History, Route, route, routes_for
from streams.profiles.state import (
    Cause,
    Change,
    Emit,
    State,
    apply_change,
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

HISTORY_KEY = "history"
"""Re-key state: the profile keys a record was forwarded to (:data:`~streams.profiles.routing.History`)."""
STATE_KEY = "state"
"""Build state: the profile key's :data:`~streams.profiles.state.State`."""


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


def profile_attributes(profile: str, key: str, event_id: str, cause: Cause, dataschema: str | None) -> Attributes:
    """The CloudEvents attributes of a profile event (:mod:`govbus.cloud_events`): ``id`` the profile event's id,
    ``source`` ``/govbus/profiles/<profile>``, ``type`` ``gov.govbus.profile.<profile>.updated`` (``.deleted``: a
    tombstone, which has no ``dataschema``), ``time`` when the causing change happened, ``subject`` the profile key."""
    return Attributes(id=event_id, source=profile_source(profile), type=profile_event_type(profile, dataschema is None),
                      time=rfc3339(cause.occurred_at_ms), subject=key, dataschema=dataschema)


class ProfileBuilder:
    """Reads forwards and encodes profile events for one profile (no I/O but the codecs)."""

    def __init__(self, definition: ProfileDefinition, decoder: WireDecoder, encoder: WireEncoder, *,
                 registry_url: str) -> None:
        self.definition = definition
        self._decoder = decoder
        self._encoder = encoder
        self._dataschema = schema_reference(registry_url, encoder.schema_id)

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
        record = None if remove else envelope.get("record")  # Avro-native already: see build_app's decoder
        operation = "REMOVE" if remove and envelope["operation"] != "DELETE" else str(envelope["operation"])
        cause = Cause(str(envelope["event_id"]), str(envelope["data_item"]), operation, str(envelope["record_key"]),
                      int(envelope["occurred_at"]))
        return Change(side, str(envelope["record_key"]), version, record), cause

    def output(self, key: str, state: State, emit: Emit, cause: Cause) -> ProfileOutput:
        """The message for ``emit``: the encoded profile, or a tombstone; headers name the event."""
        content = profile_content(self.definition, key, state) if emit is Emit.PROFILE else None
        if emit is Emit.PROFILE and content is None:
            raise ValueError(f"no profile to emit for {key!r} without an anchor record")
        event_id = profile_event_id(self.definition.name, key, cause.event_id)
        value = None if content is None else self._encoder.encode(profile_event(content, cause, event_id))
        attributes = profile_attributes(self.definition.name, key, event_id, cause,
                                        None if value is None else self._dataschema)
        headers: Headers = [(HEADER_EVENT_ID, event_id.encode()), (HEADER_CAUSED_BY, cause.event_id.encode()),
                            *attributes.headers()]
        return ProfileOutput(value, headers, emit)


class RekeyStep:
    """The forwards of one canonical message of ``item`` (state: the record's history, when the item needs one)."""

    def __init__(self, rekeyer: Rekeyer, topology: ProfileTopology, metrics: ProfileMetrics) -> None:
        self._rekeyer = rekeyer
        self._topics = {d.name: topology.repartition_topic(d.name) for d in topology.settings.definitions()}
        self._metrics = metrics
        self._latency = metrics.latency.labels(stage="rekey")

    def __call__(self, value: bytes | None, key: bytes | None, timestamp: int, headers: Any,
                 state: KeyState | None = None) -> list[Output]:
        started = time.perf_counter()
        history = state.get(HISTORY_KEY) if state is not None else None
        plan = self._rekeyer.plan(value, history)
        outputs: list[Output] = []
        if plan is not None:
            version = message_context().offset
            for forward in plan.forwards:
                outputs.append(Output(self._topics[forward.profile], forward.key.encode(), value,
                                      Rekeyer.headers(forward, version)))
                self._metrics.rekeyed_child(self._rekeyer.item, forward.profile,
                                            "remove" if forward.remove else "record").inc()
            if plan.history is not None and state is not None:
                state.set(HISTORY_KEY, plan.history)
        self._latency.observe(time.perf_counter() - started)
        return outputs


class BuildStep:
    """The profile message one forward causes (state: the profile key's :data:`~streams.profiles.state.State`)."""

    def __init__(self, builder: ProfileBuilder, output_topic: str, metrics: ProfileMetrics) -> None:
        self._builder = builder
        self._output_topic = output_topic
        self._metrics = metrics
        self._profile = builder.definition.name
        self._latency = metrics.latency.labels(stage="build")

    def __call__(self, value: bytes | None, key: bytes | None, timestamp: int, headers: Any,
                 state: KeyState | None = None) -> list[Output]:
        started = time.perf_counter()
        try:
            change, cause = self._builder.read(value, headers)
        except DecodeError as error:
            self._metrics.inputs.labels(profile=self._profile, side="", outcome="undecodable").inc()
            log.error("forward skipped: undecodable", extra={"profile": self._profile, "error": str(error)})
            return []
        assert state is not None, "the build step is stateful"
        outcome = apply_change(self._builder.definition, state.get(STATE_KEY) or {}, change)
        self._metrics.inputs_child(self._profile, change.side, "applied" if outcome.applied else "stale").inc()
        outputs: list[Output] = []
        if outcome.applied:
            state.set(STATE_KEY, outcome.state)
            if outcome.emit is not Emit.NOTHING and key is not None:
                out = self._builder.output(key.decode(), outcome.state, outcome.emit, cause)
                outputs.append(Output(self._output_topic, key, out.value, out.headers))
                if outcome.emit is Emit.TOMBSTONE:
                    self._metrics.tombstones_child(self._profile).inc()
                else:
                    self._metrics.updates_child(self._profile, change.side).inc()
        self._latency.observe(time.perf_counter() - started)
        return outputs


def build_app(settings: ProfileSettings, collector: CollectorRegistry,
              registry: SchemaRegistryClient | None = None) -> Application:
    """The Quix application with the steps ``settings`` asks for (registers the profile schemas)."""
    topology = ProfileTopology(settings)
    definitions = settings.definitions()
    metrics = ProfileMetrics(collector)
    registry = registry or clients.registry_client(settings.registry)
    # values as Avro stores them (dates as days, timestamps as epoch ms): what the state keeps and the
    # profile encodes, with no datetime or UUID objects made and converted back per message
    decoder = WireDecoder(registry, logical_types=False)
    app = build_application(settings, settings.profiles_app_id, collector, "profiles",
                            settings.log_level)
    if settings.profiles_rekey:
        history_items = set(topology.history_items())
        for item in topology.source_items():
            rekey = RekeyStep(Rekeyer(item, routes_for(item, definitions), decoder, metrics), topology, metrics)
            stream = app.dataframe(input_topic(app, topology.canonical_topic(item)))
            write_step(app, stream, rekey, stateful=item in history_items)
    if settings.profiles_build:
        for definition in definitions:
            output = topology.output_topic(definition.name)
            encoder = WireEncoder(registry, value_subject(output), definition.schema)
            builder = ProfileBuilder(definition, decoder, encoder, registry_url=settings.registry.url)
            build = BuildStep(builder, output, metrics)
            stream = app.dataframe(input_topic(app, topology.repartition_topic(definition.name)))
            write_step(app, stream, build, stateful=True)
    return app
