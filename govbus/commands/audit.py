"""`govbus audit who-received|deliveries`: who received which record, and what a subscriber received.

Both answer from the audit index (:mod:`connectors.audit_index`) when ``GOVBUS_AUDIT_INDEX_DSN`` names one, in
milliseconds, saying on stderr how recent it is; without one they read the whole audit topic (holding only the
matching records: :mod:`govbus.commands.audit_scan`, which the CLI loads only then, so that an answer from the
index does not wait for Kafka's client to load), which takes as long as the audit is long, and say so. Records
that do not parse are reported on stderr, never skipped silently.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Sequence

import click
import psycopg
from rich.console import Console
from rich.table import Table

from connectors.audit_index.settings import AuditIndexLookup
from connectors.audit_index.store import AuditIndex
from govbus.audit_record import AuditRecord, Outcome
from govbus.exceptions import PlatformError
from govbus.timespec import parse_time
from govbus.topic_names import audit_topic

Scan = Callable[[str, Callable[[AuditRecord], bool], dt.datetime | None], list[AuditRecord]]
"""reads the audit topic of a prefix: the records a filter keeps, written at or after a time"""


def index_configured() -> bool:
    """Whether GOVBUS_AUDIT_INDEX_DSN names an audit index (else the commands read the topic)."""
    dsn = AuditIndexLookup().audit_index_dsn
    return dsn is not None and bool(dsn.get_secret_value())


def _stdout() -> Console:
    """Tables on stdout; wide ones when piped, rather than folded into 80 columns."""
    return Console(width=None if sys.stdout.isatty() else 200)


def _from_index(lookup: AuditIndexLookup, ask: Callable[[AuditIndex], list[AuditRecord]]) -> list[AuditRecord]:
    assert lookup.audit_index_dsn is not None
    index = AuditIndex(lookup.audit_index_dsn.get_secret_value(), audit_topic(lookup.topic_prefix))
    try:
        found = ask(index)
        fresh = index.freshness()
    except psycopg.Error as error:
        raise PlatformError(f"the audit index (GOVBUS_AUDIT_INDEX_DSN) cannot be asked: {str(error).strip()}; check "
                            "that its database runs and `govbus run audit-indexer` has created its tables, or unset "
                            "GOVBUS_AUDIT_INDEX_DSN to read the audit topic instead") from None
    finally:
        index.close()
    upto = fresh.last_at.astimezone().isoformat(timespec="seconds") if fresh.last_at else "nothing yet"
    click.echo(f"answered from the audit index (records up to {upto})", err=True)
    if fresh.unparsable:
        click.echo(f"warning: {fresh.unparsable} audit records do not parse: `govbus audit verify` lists them",
                   err=True)
    return found


def _records(keep: Callable[[AuditRecord], bool], since: dt.datetime | None,
             ask: Callable[[AuditIndex], list[AuditRecord]], scan: Scan | None) -> list[AuditRecord]:
    """The records ``ask`` finds in the index, or, without one (``scan`` given), those of the topic ``keep`` accepts."""
    lookup = AuditIndexLookup()
    if scan is None:
        return _from_index(lookup, ask)
    click.echo("no audit index (GOVBUS_AUDIT_INDEX_DSN): reading the whole audit topic; `govbus run audit-indexer` "
               "keeps one", err=True)
    return scan(lookup.topic_prefix, keep, since)


def _echo_json(records: Sequence[AuditRecord]) -> None:
    click.echo(json.dumps([r.model_dump(mode="json", exclude={"link"}) for r in records], ensure_ascii=False,
                          indent=2))


def _when(record: AuditRecord) -> str:
    return record.at.astimezone().isoformat(timespec="milliseconds")


def show_who_received(item: str, record_key: str, since: str | None, every_outcome: bool, as_json: bool,
                      scan: Scan | None = None) -> None:
    """Every subscriber that received ``item``'s record ``record_key`` (and, with ``every_outcome``, was refused
    it or had it parked): from the index, or with ``scan`` from the topic."""
    outcomes = tuple(Outcome) if every_outcome else (Outcome.DELIVERED,)
    start = parse_time(since) if since else None
    found = _records(lambda r: r.item == item and r.record_key == record_key and r.outcome in outcomes, start,
                     lambda index: index.who_received(item, record_key, outcomes, start), scan)
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


def show_deliveries(subscriber: str, since: str, outcome: str | None, as_json: bool, scan: Scan | None = None) -> None:
    """What ``subscriber`` received (or was refused, or had parked) since ``since``: from the index, or with
    ``scan`` from the topic."""
    outcomes = (Outcome(outcome),) if outcome else tuple(Outcome)
    start = parse_time(since)
    found = _records(lambda r: r.subscriber == subscriber and r.outcome in outcomes, start,
                     lambda index: index.deliveries_to(subscriber, start, outcomes), scan)
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
