"""The register of source systems against what the bus saw: last event, never published, silent (pure).

For each system of the register (:mod:`schemas.catalogue.register`), :func:`system_statuses` looks up the
sources ``(its department, item, its id)`` of the normaliser's heartbeats (:mod:`govbus.last_events`):

- **last event**: the newest of them (None: none);
- **never published**: the bus saw no event from it for any item;
- **watched**: some normaliser writing heartbeats reads at least one of its declared items (else nothing it
  publishes could be seen, and it is neither silent nor never published in any sense that counts);
- **silent**, for a watched system that is not declared ``retired``:
  - ``active`` and never published: declared, yet nothing ever came (the survey's "zombie" candidate);
  - or it published before, and one of its declared, watched items has no event within the item's update cycle
    plus the grace (:func:`govbus.operations.sources.allowed_silence`), or none at all.
  A ``retiring`` system that never published is not silent: it is on its way out.

:func:`undeclared_sources` lists the sources the register does not know (a system id no department declared,
or declared by another department): systems to add to the register, or publishers to ask about.

Metrics (:func:`system_metrics`), labels ``{system,department}``: ``govbus_system_last_event_timestamp_seconds``
(0: never), ``govbus_system_silent`` and ``govbus_system_never_published`` (0/1).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import GaugeMetricFamily

from govbus.last_events import LastEvent, LastEvents, source_key
from govbus.operations.sources import SourceStatus, allowed_silence, source_statuses
from schemas.catalogue import Catalogue
from schemas.catalogue.register import DeclaredStatus, SourceSystem, SystemRegister

SYSTEM_LABELS = ["system", "department"]


@dataclass(frozen=True)
class ItemView:
    """One declared item of a system: its last event from the system and whether that is too long ago."""

    item: str
    last: LastEvent | None
    allowed_seconds: float
    silent_for: float | None
    watched: bool

    @property
    def overdue(self) -> bool:
        """Watched, and no event within the allowed silence (or none at all)."""
        return self.watched and (self.silent_for is None or self.silent_for > self.allowed_seconds)

    def as_json(self) -> dict[str, Any]:
        return {"item": self.item, "last_event_at": self.last.last_event_at.isoformat() if self.last else None,
                "events": self.last.events if self.last else 0, "allowed_silence_seconds": self.allowed_seconds,
                "silent_for_seconds": None if self.silent_for is None else round(self.silent_for, 3),
                "watched": self.watched, "overdue": self.overdue}


@dataclass(frozen=True)
class SystemStatus:
    """One declared system judged at one time."""

    system: SourceSystem
    items: tuple[ItemView, ...]
    undeclared_items: tuple[str, ...]
    """Items the bus saw from the system that the register does not list for it."""
    last_event_at: dt.datetime | None
    silent_for: float | None

    @property
    def never_published(self) -> bool:
        return self.last_event_at is None

    @property
    def watched(self) -> bool:
        return any(view.watched for view in self.items)

    @property
    def silent(self) -> bool:
        status = self.system.status
        if status is DeclaredStatus.RETIRED or not self.watched:
            return False
        if self.never_published:
            return status is DeclaredStatus.ACTIVE
        return any(view.overdue for view in self.items)

    def as_json(self) -> dict[str, Any]:
        system = self.system
        return {"system": system.id, "name": system.name.model_dump(), "department": system.department.value,
                "network": system.network.value, "declared_status": system.status.value,
                "last_event_at": self.last_event_at.isoformat() if self.last_event_at else None,
                "silent_for_seconds": None if self.silent_for is None else round(self.silent_for, 3),
                "never_published": self.never_published, "silent": self.silent, "watched": self.watched,
                "items": [view.as_json() for view in self.items], "undeclared_items": list(self.undeclared_items)}


def system_statuses(last: LastEvents, catalogue: Catalogue, register: SystemRegister, now: dt.datetime,
                    grace_seconds: float) -> list[SystemStatus]:
    """Every system of the register judged at ``now`` (by department, then id)."""
    watched = last.watched_items()
    by_system: dict[tuple[str, str], list[LastEvent]] = {}
    for source in last.sources.values():
        by_system.setdefault((source.department, source.source_system), []).append(source)
    statuses = []
    for system in register:
        seen = by_system.get((system.department.value, system.id), [])
        views = tuple(_item_view(system, item, last, catalogue, now, grace_seconds, item in watched)
                      for item in system.items)
        newest = max((source.last_event_at for source in seen), default=None)
        statuses.append(SystemStatus(system, views, tuple(sorted({s.item for s in seen} - set(system.items))),
                                     newest, None if newest is None else _seconds(now, newest)))
    return statuses


def _item_view(system: SourceSystem, item: str, last: LastEvents, catalogue: Catalogue, now: dt.datetime,
               grace_seconds: float, watched: bool) -> ItemView:
    source = last.sources.get(source_key(system.department.value, item, system.id))
    allowed = allowed_silence(catalogue.get(item).metadata.update_cycle, grace_seconds)
    return ItemView(item, source, allowed, None if source is None else _seconds(now, source.last_event_at), watched)


def _seconds(now: dt.datetime, then: dt.datetime) -> float:
    return max((now - then).total_seconds(), 0.0)


def undeclared_sources(last: LastEvents, catalogue: Catalogue, register: SystemRegister, now: dt.datetime,
                       grace_seconds: float) -> list[SourceStatus]:
    """The sources whose system the register does not declare for their department."""
    return [status for status in source_statuses(last, catalogue, register, now, grace_seconds)
            if not status.declared]


def system_metrics(statuses: Iterable[SystemStatus]) -> list[GaugeMetricFamily]:
    """``govbus_system_last_event_timestamp_seconds`` (0: never), ``govbus_system_silent`` and
    ``govbus_system_never_published`` of each declared system."""
    last = GaugeMetricFamily("govbus_system_last_event_timestamp_seconds", "Broker timestamp of the last event "
                             "seen from the declared system (unix seconds; 0: never)", labels=SYSTEM_LABELS)
    silent = GaugeMetricFamily("govbus_system_silent", "1 if the declared system is silent: an item of it overdue, "
                               "or declared active and never published", labels=SYSTEM_LABELS)
    never = GaugeMetricFamily("govbus_system_never_published", "1 if the bus never saw an event from the declared "
                              "system", labels=SYSTEM_LABELS)
    for status in statuses:
        labels = [status.system.id, status.system.department.value]
        last.add_metric(labels, status.last_event_at.timestamp() if status.last_event_at else 0.0)
        silent.add_metric(labels, float(status.silent))
        never.add_metric(labels, float(status.never_published))
    return [last, silent, never]
