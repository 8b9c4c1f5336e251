"""Canonical inputs for the profile builder, and the profiles they should end in (tests, bench).

:func:`profile_scenario` makes a seeded stream of canonical change events for the items of the
enterprise and person profiles: anchor records, side records pointing at them (and some at
nobody, some of individuals or organisations that no profile takes), updates, deletes, records
that move to another profile key, deleted anchors and anchors registered again. Each record's
events stay in order; records are interleaved at random.

:func:`expected_final_profiles` computes, without Kafka and without the builder's routing or
state code, the last profile per key the builder must leave on the compacted topic (``None``:
a tombstone), from the last event of each record.
:class:`CanonicalProducer` produces events to the canonical topics as the normaliser would
(the item's event schema under ``<topic>-value``, keyed by the record key).

For the restart and scale-out tests, record by record:

- :func:`expected_forwards`: the forwards the re-key step must write for the events (each
  record's events in order; the routing is per record, so no interleaving changes them).
- :class:`VersionChecker`: every record a profile message shows is a version of that record
  some input event carried, routed to that profile key, never older than one shown before.
- :func:`replay_build`: the build step's pure functions applied to a repartition log as it was
  read (:class:`ForwardRecord`): the profile messages a worker without a kill writes for it.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from govbus import clients
from govbus.demo.synthetic_items import records_for
from govbus.envelope import ChangeEvent, Operation
from govbus.serde import WireEncoder
from govbus.topic_names import canonical_topic, value_subject
from schemas.catalogue import DataItem, load_catalogue
from schemas.catalogue.profiles import ProfileDefinition, SideKind
from streams.profiles.routing import route, routes_for
from streams.profiles.state import Change, Emit, State, anchor_record, apply_change, avro_native, profile_content
from testsupport.connections import kafka_at, registry_at

_EDITABLE = {
    "enterprise_registration": "address", "identity_verification": "household_address",
    "tax_payment_certificate": "amount_cents", "credit_record": "content",
    "government_procurement_award": "project_name", "degree_certification": "major",
    "real_estate_registration": "usage",
}


@dataclass(frozen=True)
class CanonicalEvent:
    item: str
    event: ChangeEvent

    @property
    def record_key(self) -> str:
        return self.event.record_key


class _Chains:
    """Per-record chains of events, interleaved at the end (each chain keeps its order)."""

    def __init__(self, rng: random.Random, start: dt.datetime) -> None:
        self.rng = rng
        self.chains: list[list[CanonicalEvent]] = []
        self._clock = start

    def event(self, item: DataItem, key: str, record: dict[str, Any] | None) -> CanonicalEvent:
        self._clock += dt.timedelta(seconds=1)
        return CanonicalEvent(item.name, ChangeEvent(
            event_id=uuid.UUID(int=self.rng.getrandbits(128), version=4), data_item=item.name,
            department=item.department, source_system="profile-scenario",
            operation=Operation.UPSERT if record is not None else Operation.DELETE, record_key=key,
            occurred_at=self._clock, published_at=self._clock, trace_id=f"{self.rng.getrandbits(64):016x}",
            record=record))

    def interleaved(self) -> list[CanonicalEvent]:
        cursors = [0] * len(self.chains)
        pending = [i for i, chain in enumerate(self.chains) if chain]
        out: list[CanonicalEvent] = []
        while pending:
            slot = self.rng.randrange(len(pending))
            index = pending[slot]
            out.append(self.chains[index][cursors[index]])
            cursors[index] += 1
            if cursors[index] == len(self.chains[index]):
                pending[slot] = pending[-1]
                pending.pop()
        return out


def _edited(record: dict[str, Any], field: str, round_: int) -> dict[str, Any]:
    value = record[field]
    return {**record, field: value + 1 if isinstance(value, int) else f"{value}·{round_}"}


def _side_records(item: DataItem, field: str, count: int, anchors: Sequence[str], seed: int,
                  rng: random.Random) -> list[dict[str, Any]]:
    """``count`` valid records; those with ``field`` set point at one of ``anchors`` (or a stranger)."""
    records = []
    for synthetic in records_for(item, count, seed=seed):
        record = synthetic.record
        if record.get(field) is not None and rng.random() < 0.95:
            candidate = {**record, field: rng.choice(anchors)}
            try:
                record = item.validate(candidate)
            except Exception:  # noqa: S112 - an anchor id this record cannot take: keep the stranger
                continue
        records.append(record)
    return records


def _chain(chains: _Chains, item: DataItem, record: dict[str, Any], anchor_field: str | None,
           anchors: Sequence[str], rounds: int) -> list[CanonicalEvent]:
    rng = chains.rng
    key = item.key_of(record)
    events = [chains.event(item, key, record)]
    for round_ in range(rounds):
        roll = rng.random()
        if roll < 0.15:
            events.append(chains.event(item, key, None))
            if rng.random() < 0.5:
                continue
            record = _edited(record, _EDITABLE[item.name], round_)
        elif roll < 0.25 and anchor_field and record.get(anchor_field) is not None:
            moved = {**record, anchor_field: rng.choice(anchors)}
            try:
                record = item.validate(moved)
            except Exception:
                record = _edited(record, _EDITABLE[item.name], round_)
        else:
            record = _edited(record, _EDITABLE[item.name], round_)
        events.append(chains.event(item, key, record))
    return events


def profile_scenario(definitions: Sequence[ProfileDefinition], anchors_per_profile: int = 50,
                     sides_per_anchor: float = 2.0, updates: int = 2, seed: int = 7) -> list[CanonicalEvent]:
    """A seeded, interleaved stream of canonical events for ``definitions`` (see module doc)."""
    rng = random.Random(seed)
    catalogue = load_catalogue()
    chains = _Chains(rng, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    for number, definition in enumerate(definitions):
        anchor_item = catalogue.get(definition.anchor.item)
        anchor_records = [s.record for s in records_for(anchor_item, anchors_per_profile, seed=seed + number)]
        anchors = [anchor_item.key_of(r) for r in anchor_records]
        for record in anchor_records:
            chains.chains.append(_chain(chains, anchor_item, record, None, anchors, rng.randrange(0, updates + 1)))
        for offset, side in enumerate(s for s in definition.sides if s.kind is not SideKind.ANCHOR):
            item = catalogue.get(side.item)
            count = int(anchors_per_profile * sides_per_anchor)
            for record in _side_records(item, side.anchor_field, count, anchors, seed * 31 + offset, rng):
                chains.chains.append(_chain(chains, item, record, side.anchor_field, anchors,
                                            rng.randrange(0, updates + 1)))
    return chains.interleaved()


def last_events(events: Iterable[CanonicalEvent]) -> dict[tuple[str, str], CanonicalEvent]:
    """The last event of each (item, record key)."""
    last: dict[tuple[str, str], CanonicalEvent] = {}
    for event in events:
        last[(event.item, event.record_key)] = event
    return last


def expected_final_profiles(definition: ProfileDefinition,
                            events: Iterable[CanonicalEvent]) -> dict[str, dict[str, Any] | None]:
    """Key -> the last profile content (no event id, no cause) the topic must hold; None: tombstone."""
    events = list(events)
    last = last_events(events)
    ever_anchored = {e.record_key for e in events if e.item == definition.anchor.item and e.event.record is not None}
    states: dict[str, dict[str, dict[str, list[Any]]]] = defaultdict(dict)
    for side in definition.sides:
        for (item, key), event in last.items():
            record = event.event.record
            if item != side.item or record is None or record.get(side.anchor_field) is None:
                continue
            anchor = str(record[side.anchor_field])
            states[anchor].setdefault(side.side, {})[key] = [0, avro_native(record)]
    expected: dict[str, dict[str, Any] | None] = {}
    for key in ever_anchored:
        expected[key] = profile_content(definition, key, states.get(key, {}))
    return expected


class CanonicalProducer:
    """Produces canonical events as the normaliser does (one encoder per item, registered once)."""

    def __init__(self, bootstrap: str, registry_url: str, prefix: str) -> None:
        self._registry = clients.registry_client(registry_at(registry_url))
        self._prefix = prefix
        self._encoders: dict[str, WireEncoder] = {}
        self._producer = clients.producer(kafka_at(bootstrap), {"acks": "all", "enable.idempotence": True,
                                   "linger.ms": 5})

    def topic(self, item: str) -> str:
        return canonical_topic(item, self._prefix)

    def _encoder(self, item: str) -> WireEncoder:
        if item not in self._encoders:
            schema = load_catalogue().get(item).event_schema()
            self._encoders[item] = WireEncoder(self._registry, value_subject(self.topic(item)), schema)
        return self._encoders[item]

    def produce(self, events: Iterable[CanonicalEvent]) -> int:
        """Produce ``events`` in order and wait for every acknowledgement; the number produced."""
        count = 0
        for event in events:
            value = self._encoder(event.item).encode(event.event.to_avro())
            while True:
                try:
                    self._producer.produce(self.topic(event.item), key=event.record_key.encode(), value=value)
                    break
                except BufferError:
                    self._producer.poll(0.05)
            self._producer.poll(0)
            count += 1
        remaining = self._producer.flush(60)
        if remaining:
            raise RuntimeError(f"{remaining} canonical events were not acknowledged within 60 s")
        return count


def by_item(events: Iterable[CanonicalEvent]) -> Mapping[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for event in events:
        counts[event.item] += 1
    return dict(counts)


ForwardId = tuple[str, str, str, bool, str]
"""(profile, profile key, side, remove, canonical event id) of one forward."""


def expected_forwards(definitions: Sequence[ProfileDefinition], events: Iterable[CanonicalEvent]) -> Counter[ForwardId]:
    """Every forward the re-key step must write for ``events``, once each.

    Routing depends only on the record's own earlier events (its history), which are on one
    canonical partition in order; so this is the same in every run, whatever the interleaving.
    """
    routes = {item: routes_for(item, definitions) for d in definitions for item in d.items}
    histories: dict[tuple[str, str], dict[str, list[str]]] = {}
    expected: Counter[ForwardId] = Counter()
    for event in events:
        if event.item not in routes:
            continue
        record_key = (event.item, event.record_key)
        forwards, histories[record_key] = route(routes[event.item], event.record_key, event.event.record,
                                                histories.get(record_key, {}))
        for forward in forwards:
            expected[(forward.profile, forward.key, forward.side, forward.remove, str(event.event.event_id))] += 1
    return expected


@dataclass(frozen=True)
class ForwardRecord:
    """One message of a repartition topic, decoded: where it was, and the change it carries."""

    profile: str
    partition: int
    offset: int
    key: str
    side: str
    version: int
    remove: bool
    event_id: str
    record_key: str
    record: dict[str, Any] | None
    """Avro-native, as the build step applies it; None for a removal or a DELETE."""

    @property
    def id(self) -> ForwardId:
        return (self.profile, self.key, self.side, self.remove, self.event_id)


@dataclass(frozen=True)
class Replayed:
    """What the build step does with one forward: ``emit`` and, for a profile, its content."""

    forward: ForwardRecord
    applied: bool
    anchor_present: bool
    """Whether the profile key had its anchor record when the forward was applied."""
    emit: Emit
    content: dict[str, Any] | None


def replay_build(definition: ProfileDefinition, forwards: Iterable[ForwardRecord]) -> list[Replayed]:
    """The build step over ``forwards`` in the order given (a repartition log, partition by partition):
    per forward, whether it was applied and what it emits. The state functions are the builder's
    own (pure); what a test checks with this is the Kafka part: that a worker killed or joined by
    another wrote exactly this for the log it read."""
    states: dict[str, State] = {}
    replayed = []
    for forward in forwards:
        state = states.get(forward.key, {})
        present = anchor_record(definition, state) is not None
        outcome = apply_change(definition, state,
                               Change(forward.side, forward.record_key, forward.version, forward.record))
        states[forward.key] = outcome.state
        content = profile_content(definition, forward.key, outcome.state) if outcome.emit is Emit.PROFILE else None
        replayed.append(Replayed(forward, outcome.applied, present, outcome.emit, content))
    return replayed


class VersionChecker:
    """Checks profile messages of one profile against the inputs, message by message.

    For each record a message shows (the anchor record, and each record of every side), the
    record equals a version of that record (found by its key fields) that some input event
    carried; its identifier field holds the message's profile key; and, per profile key, the
    version shown is never older than one shown before (a record's changes are applied in order).
    Feed the messages of each key in topic order.
    """

    def __init__(self, definition: ProfileDefinition, events: Iterable[CanonicalEvent]) -> None:
        catalogue = load_catalogue()
        self.definition = definition
        self._key_fields = {side.item: catalogue.get(side.item).key_fields for side in definition.sides}
        self._chains: dict[tuple[str, str], list[dict[str, Any] | None]] = defaultdict(list)
        self._keys: dict[tuple[str, tuple[Any, ...]], str] = {}
        for event in events:
            if event.item not in self._key_fields:
                continue
            native = avro_native(event.event.record) if event.event.record is not None else None
            self._chains[(event.item, event.record_key)].append(native)
            if native is not None:
                self._keys[(event.item, self._key_tuple(event.item, native))] = event.record_key
        self._shown: dict[tuple[str, str, str], int] = {}
        self.records_checked = 0

    def _key_tuple(self, item: str, record: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(record.get(name) for name in self._key_fields[item])

    def problems(self, key: str, content: Mapping[str, Any] | None) -> list[str]:
        """What is wrong with the message ``content`` of profile key ``key`` (None: a tombstone)."""
        if content is None:
            return []
        found = []
        for side in self.definition.sides:
            value = content.get(side.field)
            records = value if isinstance(value, list) else ([value] if value is not None else [])
            for record in records:
                self.records_checked += 1
                record_key = self._keys.get((side.item, self._key_tuple(side.item, record)))
                where = f"{self.definition.name} {key} {side.side}"
                if record_key is None:
                    found.append(f"{where}: a record no input event carried: {str(record)[:200]}")
                    continue
                positions = [i for i, v in enumerate(self._chains[(side.item, record_key)]) if v == record]
                if not positions:
                    found.append(f"{where} {record_key}: a version no input event carried: {str(record)[:200]}")
                    continue
                if str(record.get(side.anchor_field)) != key:
                    found.append(f"{where} {record_key}: {side.anchor_field}={record.get(side.anchor_field)!r}")
                last = self._shown.get((key, side.side, record_key), -1)
                later = [p for p in positions if p >= last]
                if not later:
                    found.append(f"{where} {record_key}: version {positions} of its events shown after version {last}")
                    continue
                self._shown[(key, side.side, record_key)] = min(later)
        return found
