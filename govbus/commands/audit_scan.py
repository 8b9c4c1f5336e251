"""`govbus audit who-received|deliveries` without an audit index: the matching records of the whole audit topic."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import click

from consumers.audit_reader import read_audit_matching
from govbus.audit_record import AuditRecord
from govbus.preflight import require_broker
from govbus.settings import ClientSettings


def scan_topic(prefix: str, keep: Callable[[AuditRecord], bool], since: dt.datetime | None) -> list[AuditRecord]:
    """The records of the audit topic ``keep`` accepts, written at or after ``since``, oldest first; the records
    that do not parse are reported on stderr."""
    kafka = ClientSettings().kafka
    require_broker(kafka.bootstrap)
    read = read_audit_matching(kafka, prefix, keep, since)
    if read.unparsable_count:
        where = ", ".join(f"partition {u.partition} offset {u.offset}" for u in read.unparsable[:5])
        click.echo(f"warning: {read.unparsable_count} audit records do not parse ({where}): `govbus audit verify` "
                   "lists them", err=True)
    return read.records
