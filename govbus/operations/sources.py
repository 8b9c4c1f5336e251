"""Silent sources: which source has not published within its item's update cycle plus a grace period (pure).

A **source** is one system of one department publishing one item: ``(department, item, source system)``. What
the bus last saw from each comes from the normaliser's heartbeats (:mod:`govbus.last_events`, read from
``<prefix>.sources`` by :func:`govbus.last_events.read_last_events`). :func:`source_statuses` judges each at a
given time:

- **allowed** silence = the item's ``update_cycle`` (:data:`CYCLE_SECONDS`: ``real_time`` 0 s, ``daily`` one day,
  ``weekly`` 7 days, ``monthly`` 31, ``quarterly`` 92, ``yearly`` 366) + ``GOVBUS_SOURCES_GRACE_SECONDS``;
- ``silent_for`` = now - the last event's broker timestamp (always given);
- **silent** when ``silent_for`` exceeds the allowed silence, unless the source cannot be judged: its item is
  read by no normaliser that writes heartbeats (**unwatched**: its events would not be seen), or the register
  declares its system ``retired`` (it should be silent).

The default grace is a day: a real-time source is silent after a day without events, a daily one after two.
Departments quiet over weekends and holidays want a longer grace (``259200``: three days).

The metrics (:func:`source_metrics`; the exporter registers
:class:`govbus.operations.source_collector.SourceCollector`, which yields them and the systems'):

=================================================  ==============================================================
metric {labels}                                    value
=================================================  ==============================================================
``govbus_source_last_event_timestamp_seconds``     broker timestamp of the source's last event (unix seconds)
{department,item,source_system}
``govbus_source_silent``                           1 if silent (see above), else 0
``govbus_source_silent_seconds``                   seconds since the last event (always set)
=================================================  ==============================================================

No label holds a record value: departments and items are catalogue names, a source system a plain name
(:func:`govbus.last_events.source_name`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from pydantic import Field

from govbus.connection import KafkaConnection
from govbus.last_events import WATCHER_REFRESH_SECONDS, LastEvent, LastEvents
from govbus.settings import GovbusSettings
from govbus.topic_names import DEFAULT_PREFIX, TopicPrefix, sources_topic
from schemas.catalogue import Catalogue, UpdateCycle
from schemas.catalogue.register import DeclaredStatus, SystemRegister

DAY = 86_400.0
CYCLE_SECONDS: dict[UpdateCycle, float] = {
    UpdateCycle.REAL_TIME: 0.0, UpdateCycle.DAILY: DAY, UpdateCycle.WEEKLY: 7 * DAY, UpdateCycle.MONTHLY: 31 * DAY,
    UpdateCycle.QUARTERLY: 92 * DAY, UpdateCycle.YEARLY: 366 * DAY,
}
"""The longest silence each update cycle allows before the grace (a month: its longest, 31 days)."""
SOURCE_LABELS = ["department", "item", "source_system"]


class SourcesSettings(GovbusSettings):
    """Where operators read the sources topic from (env ``GOVBUS_KAFKA__*``, ``GOVBUS_TOPIC_PREFIX``) and how much
    silence beyond an item's update cycle is still fine (``GOVBUS_SOURCES_GRACE_SECONDS``)."""

    kafka: KafkaConnection = Field(default_factory=KafkaConnection,
                                   description="the broker, as a principal that may read <prefix>.sources (the "
                                               "operator): GOVBUS_KAFKA__*")
    topic_prefix: TopicPrefix = DEFAULT_PREFIX
    sources_grace_seconds: float = Field(
        default=DAY, ge=0,
        description="silence allowed beyond an item's update cycle before its source counts as silent (real_time: "
                    "the grace alone; daily: a day plus the grace)")
    sources_read_timeout_seconds: float = Field(default=30.0, gt=0, le=600,
                                                description="how long reading the sources topic may take")


def allowed_silence(cycle: UpdateCycle, grace_seconds: float) -> float:
    """Seconds a source of an item updated every ``cycle`` may stay silent."""
    return CYCLE_SECONDS[cycle] + grace_seconds


@dataclass(frozen=True)
class SourceStatus:
    """One source judged at one time."""

    last: LastEvent
    update_cycle: UpdateCycle
    allowed_seconds: float
    silent_for: float
    watched: bool
    """Some normaliser that writes heartbeats reads the item's topics (else its silence is not judged)."""
    system_status: DeclaredStatus | None
    """What the register declares of the system (None: the department declared no system of that id)."""

    @property
    def silent(self) -> bool:
        judged = self.watched and self.system_status is not DeclaredStatus.RETIRED
        return judged and self.silent_for > self.allowed_seconds

    @property
    def declared(self) -> bool:
        return self.system_status is not None

    def as_json(self) -> dict[str, Any]:
        return {"department": self.last.department, "item": self.last.item, "source_system": self.last.source_system,
                "update_cycle": self.update_cycle.value, "allowed_silence_seconds": self.allowed_seconds,
                "last_event_at": self.last.last_event_at.isoformat(),
                "last_seen_at": self.last.last_seen_at.isoformat(), "events": self.last.events,
                "silent_for_seconds": round(self.silent_for, 3), "silent": self.silent, "watched": self.watched,
                "declared": self.declared,
                "declared_status": self.system_status.value if self.system_status else None}


def source_statuses(last: LastEvents, catalogue: Catalogue, register: SystemRegister, now: dt.datetime,
                    grace_seconds: float) -> list[SourceStatus]:
    """Every source the heartbeats name, judged at ``now``, by department, item and source system; sources of
    items the catalogue no longer has are left out."""
    watched = last.watched_items()
    statuses = []
    for source in sorted(last.sources.values(), key=lambda s: (s.department, s.item, s.source_system)):
        if source.item not in catalogue:
            continue
        cycle = catalogue.get(source.item).metadata.update_cycle
        system = register.get(source.source_system)
        declared = system.status if system is not None and system.department.value == source.department else None
        statuses.append(SourceStatus(source, cycle, allowed_silence(cycle, grace_seconds),
                                     max((now - source.last_event_at).total_seconds(), 0.0), source.item in watched,
                                     declared))
    return statuses


def source_metrics(statuses: Iterable[SourceStatus]) -> list[GaugeMetricFamily]:
    """``govbus_source_last_event_timestamp_seconds``, ``govbus_source_silent`` and
    ``govbus_source_silent_seconds`` of each source."""
    last = GaugeMetricFamily("govbus_source_last_event_timestamp_seconds",
                             "Broker timestamp of the last event seen from the source (unix seconds)",
                             labels=SOURCE_LABELS)
    silent = GaugeMetricFamily("govbus_source_silent", "1 if the source published nothing within its item's update "
                               "cycle plus the grace (GOVBUS_SOURCES_GRACE_SECONDS)", labels=SOURCE_LABELS)
    seconds = GaugeMetricFamily("govbus_source_silent_seconds", "Seconds since the source's last event",
                                labels=SOURCE_LABELS)
    for status in statuses:
        labels = [status.last.department, status.last.item, status.last.source_system]
        last.add_metric(labels, status.last.last_event_at.timestamp())
        silent.add_metric(labels, float(status.silent))
        seconds.add_metric(labels, status.silent_for)
    return [last, silent, seconds]


def duration(seconds: float | None) -> str:
    """``3 d 4 h``, ``2 h 5 min``, ``2 h``, ``12 min``, ``40 s``; ``never`` for None."""
    if seconds is None:
        return "never"
    whole = int(seconds)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else f"{secs} s"


def judgement_notes(last: LastEvents, now: dt.datetime, prefix: str) -> list[str]:
    """What limits the judgement of the sources of ``prefix``, one sentence each: no normaliser writing heartbeats,
    one that stopped writing them, records that do not parse (`govbus sources silent`, `govbus status`)."""
    found = []
    seen = last.last_watcher_seen()
    if seen is None:
        found.append(f"no normaliser has written heartbeats to {sources_topic(prefix)}: no source "
                     "can be judged (start it: `govbus run normaliser`)")
    elif (now - seen).total_seconds() > 3 * WATCHER_REFRESH_SECONDS:
        found.append(f"the normaliser last wrote a heartbeat {duration((now - seen).total_seconds())} ago: is it "
                     "running? Until it is, every source looks silent")
    if last.unreadable:
        found.append(f"{last.unreadable} records of {sources_topic(prefix)} do not parse and were left out")
    return found
