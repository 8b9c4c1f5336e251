"""`govbus acl sync [--dry-run] [--json]`: one reconciliation of the broker's ACLs with the grants."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from govbus.preflight import require_broker
from govbus.sharing.acl_sync import AclDiff, AclSyncSettings, apply, describe, plan


def sync(dry_run: bool, as_json: bool, console: Console) -> None:
    """Compute what the grants imply against what the broker holds; apply it unless ``dry_run``."""
    settings = AclSyncSettings()
    require_broker(settings.kafka.bootstrap)
    diff = plan(settings.kafka, settings.topic_prefix)
    if not dry_run:
        apply(settings.kafka, diff)
    if as_json:
        click.echo(json.dumps({"dry_run": dry_run, "add": [describe(b) for b in diff.add],
                               "delete": [describe(b) for b in diff.delete], "not_counted": diff.refused},
                              indent=2, ensure_ascii=False))
        return
    _print(diff, dry_run, console)


def _print(diff: AclDiff, dry_run: bool, console: Console) -> None:
    for reason in diff.refused:
        console.print(f"[yellow]not counted:[/] {reason}", highlight=False)
    if diff.empty:
        console.print("the broker's ACLs match the grants: nothing to change")
        return
    table = Table(title="ACL changes" + (" (dry run: nothing changed)" if dry_run else ""))
    for column in ("change", "principal", "operation", "resource", "name"):
        table.add_column(column)
    for change, bindings in (("+ add", diff.add), ("- delete", diff.delete)):
        for binding in bindings:
            table.add_row(change, binding.principal, binding.operation.name,
                          f"{binding.restype.name.lower()} ({binding.resource_pattern_type.name.lower()})",
                          binding.name)
    console.print(table)
    verb = "would add" if dry_run else "added"
    verb_delete = "would delete" if dry_run else "deleted"
    console.print(f"{verb} {len(diff.add)}, {verb_delete} {len(diff.delete)}")
