"""`govbus publish` and `govbus gateway ...`: the department publishing paths."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from connectors.file_source import LoadReport, load_file
from connectors.ingest_gateway.keys import add_key
from govbus.exceptions import ConfigurationError
from govbus.preflight import require_broker, require_registry
from govbus.publisher import Publisher, PublisherSettings
from schemas.catalogue import load_catalogue


def _count_lines(path: Path) -> int | None:
    try:
        with open(path, "rb") as handle:
            return sum(1 for _ in handle)
    except OSError:
        return None


def publish_file(item: str, path: Path, department: str, source_system: str, fmt: str | None,
                 report_path: Path | None, console: Console) -> None:
    """Bulk-load ``path``; print counts; write the report; exit 1 when any line was rejected."""

    if not path.is_file():
        raise ConfigurationError(f"{path} is not a readable file")
    settings = PublisherSettings()
    require_broker(settings.kafka.bootstrap)
    require_registry(settings.registry.url)
    total = _count_lines(path)
    columns = (SpinnerColumn(), TextColumn(f"publishing {item}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with (Publisher(department, source_system, settings=settings) as publisher,
          Progress(*columns, console=console) as progress):
        task = progress.add_task("lines", total=total)
        report = load_file(publisher, item, path, fmt, on_line=lambda: progress.advance(task))
    _print_report(report, console)
    if report_path is not None:
        report_path.write_text(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
        console.print(f"report written to {report_path}")
    if report.rejected:
        sys.exit(1)


def _print_report(report: LoadReport, console: Console) -> None:
    colour = "red" if report.rejected else "green"
    console.print(f"[{colour}]{report.accepted} accepted, {len(report.rejected)} rejected[/] ({report.source})")
    for rejection in report.rejected[:10]:
        where = f"line {rejection.line}" + (f", field {rejection.field}" if rejection.field else "")
        console.print(f"  {where} [{rejection.rule}]: {rejection.reason}", highlight=False)
    if len(report.rejected) > 10:
        console.print(f"  ... and {len(report.rejected) - 10} more (--report OUT.json lists every one)")


def add_gateway_key(department: str, label: str, keys_file: Path, console: Console) -> None:

    departments = {item.department for item in load_catalogue().items()}
    if department not in departments:
        known = ", ".join(sorted(departments))
        raise click.BadParameter(f"{department!r} owns no item in the catalogue; known: {known}")
    key = add_key(keys_file, department, label)
    console.print(f"API key for {department} (shown once, only its hash is stored in {keys_file}):")
    click.echo(key)
