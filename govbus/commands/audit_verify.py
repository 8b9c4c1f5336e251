"""`govbus audit verify` and `govbus audit keygen`: check every chain of the audit; make a signing key.

verify reads the whole audit topic once (:func:`consumers.audit_reader.scan_audit`; memory grows with the
number of chains, not of records) and checks it with :class:`govbus.audit_verify.AuditVerifier` against
the trusted public keys: ``--public-key`` files, else the key of ``GOVBUS_AUDIT_KEY_FILE``. Exit code 0 when
every chain verifies and every record parsed and was chained, 1 otherwise (or when the topic cannot be read).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import click
from confluent_kafka import Message
from rich.console import Console
from rich.table import Table

from consumers.audit_reader import scan_audit
from govbus.audit_keys import (
    KEY_FILE_VARIABLE,
    AuditKeySettings,
    VerifyKey,
    load_or_create,
    load_verify_key,
    public_file,
)
from govbus.audit_verify import AuditVerifier, VerifyReport
from govbus.exceptions import ConfigurationError
from govbus.preflight import require_broker
from govbus.settings import ClientSettings
from govbus.topic_names import TopicSettings, audit_topic

SHOWN = 20
"""unparsable and unchained records printed at most (``--json`` lists up to 1000 of each)"""


def _keys(public_keys: Sequence[Path]) -> list[VerifyKey]:
    if public_keys:
        return [load_verify_key(path) for path in public_keys]
    configured = AuditKeySettings().audit_key_file
    if configured is None:
        raise ConfigurationError(f"verify needs the public keys the connectors sign with: --public-key FILE (one per "
                                 f"key), or {KEY_FILE_VARIABLE} (a connector's key file, or its public half)")
    return [load_verify_key(configured)]


def verify_audit(subscription: str | None, public_keys: Sequence[Path], as_json: bool) -> int:
    """Check the audit (see the module docstring); print the findings; the exit code."""
    verifier = AuditVerifier(_keys(public_keys), subscription)
    kafka = ClientSettings().kafka
    require_broker(kafka.bootstrap)
    prefix = TopicSettings().topic_prefix
    def check(message: Message) -> None:
        verifier.add(message.partition() or 0, message.offset() or 0, message.value())

    scan_audit(kafka, prefix, check)
    report = verifier.report()
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        _print(report, audit_topic(prefix))
    return 0 if report.ok else 1


def _print(report: VerifyReport, topic: str) -> None:
    console = Console(width=None if sys.stdout.isatty() else 200)
    table = Table(title=f"{topic}: {report.records} records, {len(report.chains)} chains", title_justify="left")
    for column in ("subscription", "connector", "chain", "partition", "offsets", "records", "from", "to", "verdict"):
        table.add_column(column)
    for c in report.chains:
        verdict = "verified" if c.broken is None else f"BROKEN at offset {c.broken.offset}"
        table.add_row(c.subscription, c.connector, c.chain, str(c.partition), f"{c.first_offset}-{c.last_offset}",
                      str(c.records), c.first_at.isoformat(timespec="seconds"),
                      c.last_at.isoformat(timespec="seconds") if c.last_at else "", verdict)
    console.print(table)
    for c in report.breaks:
        assert c.broken is not None
        click.echo(f"break: subscription {c.subscription}, chain {c.chain} ({c.connector}), partition "
                   f"{c.broken.partition} offset {c.broken.offset} (seq {c.broken.seq}): {c.broken.problem}")
    for u in report.unparsable[:SHOWN]:
        click.echo(f"unparsable: partition {u.partition} offset {u.offset}: {u.reason}")
    if report.unparsable_count > SHOWN:
        click.echo(f"unparsable: {report.unparsable_count - SHOWN} more (--json lists them)")
    if report.unchained_count:
        where = ", ".join(f"partition {p} offset {o}" for p, o in report.unchained[:SHOWN])
        click.echo(f"unchained: {report.unchained_count} records carry no chain (written before the audit was "
                   f"chained, or by someone without a connector's key): {where}")
    click.echo("the audit verifies" if report.ok else
               f"the audit does not verify: {len(report.breaks)} broken chains, {report.unparsable_count} "
               f"unparsable and {report.unchained_count} unchained records")


def make_key(path: Path) -> None:
    """Make a signing key pair in ``path`` and its ``.pub`` sibling, unless ``path`` exists (then it is kept)."""
    existed = path.exists()
    key = load_or_create(path)
    state = "kept the existing key" if existed else "made a new key"
    click.echo(f"{state} {key.key_id}: {path} (private, mode 0600: give it to the connectors as "
               f"{KEY_FILE_VARIABLE}) and {public_file(path)} (public: for `govbus audit verify --public-key`)")
