"""The bus at a glance (``govbus status``, the console): :class:`BusStatus`, assembled from what was read (pure).

:mod:`govbus.operations.status_reads` reads (broker, registry, components, offsets, the sharing store, the
sources topic) into :class:`Reads`; :func:`assemble` judges them here, with no I/O, so every rule is
unit-tested:

- **platform**: the broker and the registry answered (and how long the check took); each component's
  ``/metrics`` answered, and when it last did;
- **lag** of each subscription's connector group, running or not, and of every other watched group
  (:mod:`govbus.operations.subscriptions`, :mod:`govbus.operations.lag`);
- **last hour** per topic: the end offset now minus the offset of the first record at or after now - 1 h
  (offsets, so transaction markers count: at most one more per transaction that wrote to a partition);
  dead letters and parked events are the dead-letter and parked topics' counts;
- **silent** sources and systems (:mod:`govbus.operations.sources`, :mod:`govbus.operations.systems`) and
  subscriptions (idle longer than ``GOVBUS_EXPORTER_SUBSCRIBER_SILENT_AFTER_SECONDS``);
- **grants** that expire within ``GOVBUS_STATUS_GRANT_WARNING_DAYS``.

The bus is **healthy** when :attr:`BusStatus.problems` is empty: nothing unreachable or down, nothing silent,
every read done. Dead letters, parked events and expiring grants are :attr:`BusStatus.notes`: worth a look,
not an outage. Every name here is a topic, group, subscription, grant id, catalogue or register name: no record
value is ever read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from govbus.last_events import LastEvents
from govbus.operations.grants import grant_expiries
from govbus.operations.idle import IdleTracker
from govbus.operations.lag import Position, lag_by_topic, total
from govbus.operations.metrics import Reading
from govbus.operations.sources import source_statuses
from govbus.operations.subscriptions import SubscriptionPositions, subscription_lags
from govbus.operations.systems import system_statuses
from govbus.operations.topic_kinds import TopicKinds
from govbus.sharing.model import Grant
from schemas.catalogue import Catalogue
from schemas.catalogue.register import SystemRegister

HOUR = 3600.0
COUNTED_KINDS = ("dept", "local", "canonical", "dead-letter", "parked", "profile", "delivery")
"""the topic kinds whose last hour is counted (not the control, audit and other topics)"""
THROUGHPUT_KINDS = ("dept", "canonical")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Check(_Model):
    """Whether the broker or the registry answered, and how long asking took."""

    address: str
    reachable: bool
    seconds: float
    error: str | None = None


class ComponentStatus(_Model):
    """A component's ``/metrics``: answered now or not, and when it last did."""

    name: str
    url: str
    up: bool
    seconds: float
    """how long the scrape took"""
    last_scrape_at: dt.datetime | None
    """the last scrape that answered (None: none yet)"""
    error: str | None = None


class SubscriptionRow(_Model):
    name: str
    group: str
    lag_events: int
    lag_seconds: float
    idle_seconds: float
    silent: bool


class GroupRow(_Model):
    """A watched consumer group that is no subscription's (a processor's, a subscriber's own client ...)."""

    group: str
    lag_events: int
    lag_seconds: float


class TopicActivity(_Model):
    topic: str
    kind: str
    end_offset: int
    """the sum of the partitions' end offsets"""
    last_hour: int | None
    """offsets written in the last hour (None: not read)"""


class SilentSource(_Model):
    department: str
    item: str
    item_title: str
    source_system: str
    update_cycle: str
    last_event_at: dt.datetime
    silent_for_seconds: float
    allowed_silence_seconds: float


class SilentSystem(_Model):
    system: str
    name: str
    department: str
    last_event_at: dt.datetime | None
    silent_for_seconds: float | None
    never_published: bool


class ExpiringGrant(_Model):
    department: str
    subscriber: str
    item: str
    grant: str
    expires_at: dt.datetime
    expires_in_seconds: float


class BusStatus(_Model):
    """Everything ``govbus status`` prints and the console shows (its JSON is ``govbus status --json``)."""

    checked_at: dt.datetime
    seconds: float
    """how long reading took"""
    topic_prefix: str
    healthy: bool
    problems: list[str]
    notes: list[str]
    broker: Check
    registry: Check
    components: list[ComponentStatus]
    subscriptions: list[SubscriptionRow]
    groups: list[GroupRow]
    offsets_read: bool
    """the groups' and topics' offsets were read (else lag, topics and throughput are unknown, not zero)"""
    topics: list[TopicActivity]
    dead_letters_last_hour: int
    parked_last_hour: int
    sources_judged: int | None
    """sources judged (None: the sources topic was not read)"""
    silent_sources: list[SilentSource]
    silent_systems: list[SilentSystem]
    grants_expiring: list[ExpiringGrant]

    def end_offsets(self, kind: str) -> int:
        """The sum of the end offsets of the topics of ``kind`` (the console's throughput is its rate)."""
        return sum(topic.end_offset for topic in self.topics if topic.kind == kind)


@dataclass(frozen=True)
class Reads:
    """What one status read found; None where a step was not done (:attr:`unread` says why)."""

    checked_at: float
    """unix seconds"""
    seconds: float
    prefix: str
    broker: Check
    registry: Check
    components: list[ComponentStatus]
    reading: Reading | None = None
    subscriptions: list[SubscriptionPositions] = field(default_factory=list)
    grants: list[Grant] | None = None
    hour_ago: Mapping[Position, int] | None = None
    """per partition, the offset of the first record at or after now - 1 h (-1: none)"""
    last_events: LastEvents | None = None
    source_notes: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)
    """one "what: why" per step that failed"""


@dataclass(frozen=True)
class Judgement:
    """What the reads are judged against."""

    catalogue: Catalogue
    register: SystemRegister
    grace_seconds: float
    subscriber_silent_after: float
    grant_warning_seconds: float


def assemble(reads: Reads, judgement: Judgement, idle: IdleTracker) -> BusStatus:
    """The :class:`BusStatus` of ``reads``; ``idle`` remembers the subscriptions' movement between reads (the
    console keeps one; a single read sees each group for the first time)."""
    now = reads.checked_at
    subscriptions = _subscriptions(reads, judgement, idle)
    topics = _topics(reads.reading, reads.hour_ago, TopicKinds(reads.prefix))
    sources, systems, judged = _silent(reads.last_events, judgement, now)
    grants = _expiring(reads.grants or [], now, judgement.grant_warning_seconds)
    dead = sum(t.last_hour or 0 for t in topics if t.kind == "dead-letter")
    parked = sum(t.last_hour or 0 for t in topics if t.kind == "parked")
    problems = _problems(reads, subscriptions, sources, systems)
    return BusStatus(
        checked_at=dt.datetime.fromtimestamp(now, dt.UTC), seconds=round(reads.seconds, 3), topic_prefix=reads.prefix,
        healthy=not problems, problems=problems, notes=_notes(reads, topics, grants), broker=reads.broker,
        registry=reads.registry, components=reads.components, subscriptions=subscriptions,
        groups=_groups(reads.reading, {s.group for s in reads.subscriptions}, now),
        offsets_read=reads.reading is not None, topics=topics,
        dead_letters_last_hour=dead, parked_last_hour=parked, sources_judged=judged, silent_sources=sources,
        silent_systems=systems, grants_expiring=grants)


def _subscriptions(reads: Reads, judgement: Judgement, idle: IdleTracker) -> list[SubscriptionRow]:
    if reads.reading is None:
        return []
    groups = {found.name: found.group for found in reads.subscriptions}
    lags = subscription_lags(reads.subscriptions, reads.reading.ends, reads.reading.times, idle,
                             judgement.subscriber_silent_after, reads.checked_at)
    return [SubscriptionRow(name=lag.name, group=groups[lag.name], lag_events=lag.lag.events,
                            lag_seconds=round(lag.seconds, 3), idle_seconds=round(lag.idle_seconds, 3),
                            silent=lag.silent) for lag in lags]


def _groups(reading: Reading | None, subscription_groups: set[str], now: float) -> list[GroupRow]:
    if reading is None:
        return []
    rows = []
    for group, committed in sorted(reading.committed.items()):
        if group in subscription_groups:
            continue
        positions: Mapping[Position, int | None] = committed
        lag = total(lag_by_topic(positions, reading.ends, reading.times).values())
        rows.append(GroupRow(group=group, lag_events=lag.events, lag_seconds=round(lag.seconds(now), 3)))
    return rows


def _topics(reading: Reading | None, hour_ago: Mapping[Position, int] | None,
            kinds: TopicKinds) -> list[TopicActivity]:
    if reading is None:
        return []
    rows = []
    for topic, partitions in sorted(reading.topics.items()):
        kind = kinds.kind(topic)
        if kind not in COUNTED_KINDS:
            continue
        ends = [reading.ends[(topic, p)].end for p in partitions if (topic, p) in reading.ends]
        last_hour = None if hour_ago is None else sum(
            last_hour_count(hour_ago.get((topic, p), -1), reading.ends[(topic, p)].end)
            for p in partitions if (topic, p) in reading.ends)
        rows.append(TopicActivity(topic=topic, kind=kind, end_offset=sum(ends), last_hour=last_hour))
    return rows


def last_hour_count(offset_hour_ago: int, end: int) -> int:
    """Offsets written since the first record at or after an hour ago (``offset_hour_ago``; -1 when no record is
    that recent) up to the end offset."""
    return 0 if offset_hour_ago < 0 else max(0, end - offset_hour_ago)


def _silent(last: LastEvents | None, judgement: Judgement,
            now: float) -> tuple[list[SilentSource], list[SilentSystem], int | None]:
    if last is None:
        return [], [], None
    moment = dt.datetime.fromtimestamp(now, dt.UTC)
    catalogue, register, grace = judgement.catalogue, judgement.register, judgement.grace_seconds
    statuses = source_statuses(last, catalogue, register, moment, grace)
    sources = [SilentSource(department=s.last.department, item=s.last.item,
                            item_title=catalogue.get(s.last.item).metadata.title.zh, source_system=s.last.source_system,
                            update_cycle=s.update_cycle.value, last_event_at=s.last.last_event_at,
                            silent_for_seconds=round(s.silent_for, 3), allowed_silence_seconds=s.allowed_seconds)
               for s in sorted(statuses, key=lambda s: -s.silent_for) if s.silent]
    systems = [SilentSystem(system=s.system.id, name=s.system.name.zh, department=s.system.department.value,
                            last_event_at=s.last_event_at, never_published=s.never_published,
                            silent_for_seconds=None if s.silent_for is None else round(s.silent_for, 3))
               for s in system_statuses(last, catalogue, register, moment, grace) if s.silent]
    return sources, systems, len(statuses)


def _expiring(grants: Sequence[Grant], now: float, within: float) -> list[ExpiringGrant]:
    moment = dt.datetime.fromtimestamp(now, dt.UTC)
    rows = [ExpiringGrant(department=department, subscriber=subscriber, item=item, grant=grant,
                          expires_at=dt.datetime.fromtimestamp(expiry, dt.UTC),
                          expires_in_seconds=round(expiry - now, 3))
            for (department, subscriber, item, grant), expiry in grant_expiries(grants, moment)
            if expiry - now <= within]
    return sorted(rows, key=lambda row: row.expires_at)


def duration(seconds: float | None) -> str:
    """``3 d 4 h``, ``2 h 5 min``, ``12 min 5 s``, ``40 s``; ``-`` for None."""
    if seconds is None:
        return "-"
    days, rest = divmod(int(seconds), 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _problems(reads: Reads, subscriptions: list[SubscriptionRow], sources: list[SilentSource],
              systems: list[SilentSystem]) -> list[str]:
    found = []
    for what, check in (("broker", reads.broker), ("registry", reads.registry)):
        if not check.reachable:
            found.append(f"the {what} at {check.address} does not answer: {check.error}")
    found += [f"component {c.name} does not answer at {c.url}: {c.error}" for c in reads.components if not c.up]
    found += [f"could not read {what}" for what in reads.unread]
    found += [f"subscription {s.name} is silent: its group has not moved for {duration(s.idle_seconds)} while "
              f"{s.lag_events} events waited" for s in subscriptions if s.silent]
    found += [f"source {s.department}/{s.item}/{s.source_system} is silent: no event for "
              f"{duration(s.silent_for_seconds)} (allowed {duration(s.allowed_silence_seconds)})" for s in sources]
    found += [f"system {s.system} ({s.department}) is silent: "
              + ("declared active and never published" if s.never_published else "an item of it is overdue")
              for s in systems]
    return found


def _noun(kind: str, count: int) -> str:
    noun = "dead letter" if kind == "dead-letter" else "parked event"
    return noun if count == 1 else f"{noun}s"


def _notes(reads: Reads, topics: list[TopicActivity], grants: list[ExpiringGrant]) -> list[str]:
    found = list(reads.source_notes)
    found += [f"{t.last_hour} {_noun(t.kind, t.last_hour)} in the last hour on {t.topic}"
              for t in topics if t.kind in ("dead-letter", "parked") and t.last_hour]
    found += [f"grant {g.grant} of {g.department} ({g.subscriber}, {g.item}) expires in "
              f"{duration(max(g.expires_in_seconds, 0))} ({g.expires_at:%Y-%m-%d %H:%M} UTC)" for g in grants]
    return found
