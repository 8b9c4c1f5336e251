"""`govbus schemas sync`: register every catalogue item's event schema in the schema registry."""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from govbus.commands.catalogue import catalogue_from, topic_prefix
from govbus.settings import ClientSettings
from schemas.catalogue.sync import Outcome, SchemaSync, SyncReport

_STYLE = {Outcome.NEW: "green", Outcome.CHANGED: "cyan", Outcome.UNCHANGED: "dim", Outcome.REFUSED: "bold red",
          Outcome.NOT_APPLIED: "yellow"}


def sync_schemas(item: str | None, dry_run: bool, directory: Path | None, prefix: str | None,
                 registry_url: str | None, as_json: bool, console: Console) -> None:
    """Check and register; print a table (or JSON); exit 1 if any change is refused."""
    catalogue = catalogue_from(directory)
    items = [catalogue.get(item)] if item else catalogue.items()
    registry = ClientSettings().registry
    if registry_url:
        registry = registry.model_copy(update={"url": registry_url.rstrip("/")})
    url = registry.url
    report = SchemaSync(registry, topic_prefix(prefix)).sync(items, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps({"dry_run": report.dry_run, "ok": report.ok, "registry_url": url,
                               "subjects": [asdict(r) for r in report.results]}, ensure_ascii=False, indent=2))
    else:
        _print_report(report, url, console)
    if not report.ok:
        sys.exit(1)


def _print_report(report: SyncReport, url: str, console: Console) -> None:
    title = f"schemas at {url}" + (" (dry run: nothing changed)" if report.dry_run else "")
    table = Table(title=title)
    for column in ("item", "subject", "level", "version", "id", "result"):
        table.add_column(column, overflow="fold")
    for result in report.results:
        shown = result.outcome.value
        if report.dry_run and result.outcome in (Outcome.NEW, Outcome.CHANGED):
            shown = f"would be {shown}"
        table.add_row(result.item, result.subject, result.compatibility,
                      "-" if result.version is None else str(result.version),
                      "-" if result.schema_id is None else str(result.schema_id),
                      f"[{_STYLE[result.outcome]}]{shown}[/]")
    out = Console(soft_wrap=True)
    out.print(table)
    for refused in report.refused:
        out.print(f"[bold red]refused[/] {refused.item} ({refused.subject}, {refused.compatibility}):", highlight=False)
        for reason in refused.reasons:
            out.print(f"  - {reason}", highlight=False, markup=False)
    counts = Counter(r.outcome.value for r in report.results)
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
    if report.refused:
        levels = "" if report.dry_run else "; compatibility levels were set from the catalogue"
        console.print(f"[bold red]{len(report.refused)} item(s) refused[/]: no schema was registered{levels} "
                      f"({summary})")
    else:
        console.print(f"{len(report.results)} subject(s): {summary}")
