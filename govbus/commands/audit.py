"""`govbus audit who-received|deliveries`: who received which record, and what a subscriber received."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

import click
from rich.console import Console
from rich.table import Table

from consumers.audit_reader import read_audit
from govbus.audit import AuditRecord, Outcome, deliveries_to, who_received
from govbus.preflight import require_broker
from govbus.settings import ClientSettings
from govbus.timespec import parse_time
from govbus.topic_names import TopicSettings


def _stdout() -> Console:
    """Tables on stdout; wide ones when piped, rather than folded into 80 columns."""
    return Console(width=None if sys.stdout.isatty() else 200)


def _records(since: str | None) -> list[AuditRecord]:
    start = parse_time(since) if since else None
    kafka = ClientSettings().kafka
    require_broker(kafka.bootstrap)
    return read_audit(kafka, TopicSettings().topic_prefix, start)


def _echo_json(records: Sequence[AuditRecord]) -> None:
    click.echo(json.dumps([r.model_dump(mode="json") for r in records], ensure_ascii=False, indent=2))


def _when(record: AuditRecord) -> str:
    return record.at.astimezone().isoformat(timespec="milliseconds")


def show_who_received(item: str, record_key: str, since: str | None, every_outcome: bool, as_json: bool) -> None:
    """Every subscriber that received ``item``'s record ``record_key`` (and, with ``every_outcome``, was refused
    it or had it parked)."""
    outcomes = tuple(Outcome) if every_outcome else (Outcome.DELIVERED,)
    found = who_received(_records(since), item, record_key, outcomes)
    if as_json:
        _echo_json(found)
        return
    table = Table(title=f"{item} {record_key}: {len(found)} {'outcomes' if every_outcome else 'deliveries'}")
    for column in ("time", "subscriber", "subscription", "outcome", "event", "fields delivered", "masked"):
        table.add_column(column)
    for r in found:
        table.add_row(_when(r), r.subscriber, r.subscription, r.outcome.value, r.event_id,
                      ", ".join(r.fields_delivered) or "-", ", ".join(r.fields_masked) or "-")
    _stdout().print(table)


def show_deliveries(subscriber: str, since: str, outcome: str | None, as_json: bool) -> None:
    """What ``subscriber`` received (or was refused, or had parked) since ``since``."""
    outcomes = (Outcome(outcome),) if outcome else tuple(Outcome)
    found = deliveries_to(_records(since), subscriber, outcomes)
    if as_json:
        _echo_json(found)
        return
    table = Table(title=f"{subscriber} since {parse_time(since).astimezone().isoformat(timespec='seconds')}: "
                        f"{len(found)} outcomes")
    for column in ("time", "subscription", "item", "record key", "outcome", "fields", "masked", "reason"):
        table.add_column(column)
    for r in found:
        table.add_row(_when(r), r.subscription, r.item, r.record_key, r.outcome.value,
                      ", ".join(r.fields_delivered) or "-", ", ".join(r.fields_masked) or "-", r.reason or "")
    _stdout().print(table)
