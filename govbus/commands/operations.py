"""`govbus sources silent` and `govbus systems list`: the sources topic judged against the catalogue and register.

Both read ``<prefix>.sources`` whole (the operator's principal may; it holds no record value), judge it at the
time they run (:mod:`govbus.operations.sources`, :mod:`govbus.operations.systems`) and print a table, or JSON.
They also say what limits the judgement: no normaliser writing heartbeats at all, one that stopped writing them,
items no normaliser reads (their sources cannot be seen), records that do not parse.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from govbus.exceptions import PlatformError
from govbus.last_events import LastEvents, read_last_events
from govbus.operations.sources import SourcesSettings, SourceStatus, duration, judgement_notes, source_statuses
from govbus.operations.systems import SystemStatus, system_statuses, undeclared_sources
from govbus.preflight import require_broker
from govbus.topic_names import sources_topic
from schemas.catalogue import load_catalogue
from schemas.catalogue.register import load_register


def read_sources(settings: SourcesSettings) -> LastEvents:
    """The sources topic, or one line saying why not and what to do."""
    require_broker(settings.kafka.bootstrap)
    try:
        return read_last_events(settings.kafka, settings.topic_prefix, settings.sources_read_timeout_seconds)
    except PlatformError as error:
        raise PlatformError(f"{error}; the normaliser creates {sources_topic(settings.topic_prefix)} when it starts "
                            "with source heartbeats on (GOVBUS_NORMALISER_SOURCES_INTERVAL_SECONDS > 0)") from error


def _when(moment: dt.datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "never"


def _watchers_json(last: LastEvents) -> list[dict[str, Any]]:
    return [{"watcher": w.watcher, "items": list(w.items), "seen_at": w.seen_at.isoformat()}
            for w in sorted(last.watchers.values(), key=lambda w: w.watcher)]


def show_silent_sources(as_json: bool, console: Console) -> None:
    """`govbus sources silent`: every silent source, longest silent first."""
    settings = SourcesSettings()
    last = read_sources(settings)
    now = dt.datetime.now(dt.UTC)
    statuses = source_statuses(last, load_catalogue(), load_register(), now, settings.sources_grace_seconds)
    silent = sorted((s for s in statuses if s.silent), key=lambda s: -s.silent_for)
    notes = judgement_notes(last, now, settings.topic_prefix)
    if as_json:
        click.echo(json.dumps({"checked_at": now.isoformat(), "grace_seconds": settings.sources_grace_seconds,
                               "sources": len(statuses), "silent": [s.as_json() for s in silent],
                               "watchers": _watchers_json(last), "warnings": notes}, indent=2, ensure_ascii=False))
        return
    for note in notes:
        console.print(f"[yellow]warning:[/] {note}", highlight=False)
    if not silent:
        console.print(f"no silent source among {len(statuses)} (grace {duration(settings.sources_grace_seconds)} "
                      "beyond each item's update cycle)", highlight=False)
        return
    console.print(_silent_table(silent, settings.sources_grace_seconds))


def _silent_table(silent: list[SourceStatus], grace: float) -> Table:
    table = Table(title=f"Silent sources (grace {duration(grace)} beyond the update cycle)")
    for column in ("department", "item", "source system", "update cycle", "last event", "silent for"):
        table.add_column(column)
    for status in silent:
        system = status.last.source_system if status.declared else f"{status.last.source_system} (undeclared)"
        table.add_row(status.last.department, status.last.item, system, status.update_cycle.value,
                      _when(status.last.last_event_at), duration(status.silent_for))
    return table


def list_systems(as_json: bool, console: Console) -> None:
    """`govbus systems list`: every declared system with its last event, and the sources nobody declared."""
    settings = SourcesSettings()
    last = read_sources(settings)
    now = dt.datetime.now(dt.UTC)
    catalogue, register, grace = load_catalogue(), load_register(), settings.sources_grace_seconds
    systems = system_statuses(last, catalogue, register, now, grace)
    undeclared = undeclared_sources(last, catalogue, register, now, grace)
    notes = judgement_notes(last, now, settings.topic_prefix)
    if as_json:
        click.echo(json.dumps({"checked_at": now.isoformat(), "grace_seconds": grace,
                               "systems": [s.as_json() for s in systems],
                               "undeclared_sources": [s.as_json() for s in undeclared],
                               "watchers": _watchers_json(last), "warnings": notes}, indent=2, ensure_ascii=False))
        return
    for note in notes:
        console.print(f"[yellow]warning:[/] {note}", highlight=False)
    console.print(_systems_table(systems))
    if undeclared:
        names = ", ".join(f"{s.last.department}/{s.last.source_system} ({s.last.item})" for s in undeclared)
        console.print(f"sources the register does not declare: {names}", highlight=False)


def _flags(status: SystemStatus) -> str:
    flags = []
    if not status.watched:
        flags.append("unwatched")
    if status.never_published:
        flags.append("never published")
    if status.silent:
        flags.append("[bold red]silent[/]")
    if status.undeclared_items:
        flags.append(f"also publishes {', '.join(status.undeclared_items)}")
    return ", ".join(flags)


def _systems_table(systems: list[SystemStatus]) -> Table:
    table = Table(title="Source systems (register against the last events the bus saw)")
    for column in ("system", "department", "items", "network", "declared", "last event", "silent for", "flags"):
        table.add_column(column)
    for status in systems:
        system = status.system
        network = system.network.value.removeprefix("e-government-")
        table.add_row(f"{system.id}\n{system.name.zh}", system.department.value, "\n".join(system.items), network,
                      system.status.value, _when(status.last_event_at),
                      duration(status.silent_for) if status.last_event_at else "", _flags(status))
    return table
