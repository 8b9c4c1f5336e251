"""`govbus outbox migrate|run|status`: the PostgreSQL outbox source connector."""

from __future__ import annotations

import json
from typing import Any

import click
from pydantic import ValidationError as SettingsError
from rich.console import Console
from rich.markup import escape

from connectors.outbox.connector import run_connector
from connectors.outbox.migrate import migrate_dsn
from connectors.outbox.settings import OutboxSettings
from connectors.outbox.status import outbox_status
from govbus.exceptions import ConfigurationError
from govbus.preflight import require_platform
from govbus.settings import settings_problems


def migrate(dsn: str, console: Console) -> None:
    """Apply the outbox migrations to ``dsn`` and say what was applied."""

    report = migrate_dsn(dsn)
    if report.applied:
        console.print(f"[green]applied[/]: {', '.join(report.applied)}")
    if report.already_applied:
        console.print(f"already applied: {', '.join(report.already_applied)}")
    if not report.applied and not report.already_applied:
        console.print("no migrations shipped (nothing to do)")


def outbox_settings(overrides: dict[str, Any]) -> Any:
    """:class:`OutboxSettings` from ``GOVBUS_*`` variables, with the non-empty ``overrides`` on top."""

    try:
        return OutboxSettings(**{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as error:
        raise ConfigurationError(f"outbox settings are invalid: {settings_problems(error)}") from error


def run(overrides: dict[str, Any]) -> None:
    """Run the connector in the foreground until SIGTERM or SIGINT."""

    settings = outbox_settings(overrides)  # its own inputs first, then the platform
    require_platform(settings)
    run_connector(settings)


def status(dsn: str, name: str, as_json: bool, console: Console) -> None:
    """Print the connector's position, rows waiting and rejected rows."""

    found = outbox_status(dsn, name)
    if as_json:
        click.echo(json.dumps(found.as_json(), indent=2, ensure_ascii=False))
        return
    when = found.position_updated_at.isoformat(timespec="seconds") if found.position_updated_at else "never"
    position = found.position
    console.print(f"connector [bold]{escape(found.connector)}[/]: position txid {position.txid}, id {position.id} "
                  f"(stored {when})", highlight=False)
    colour = "green" if found.rows_waiting == 0 else "yellow"
    line = f"[{colour}]{_rows(found.rows_waiting)} waiting[/] ({found.rows_ready} ready"
    line += f", {found.rows_held_back} held back by an older open transaction)" if found.rows_held_back else ")"
    if found.oldest_waiting_at:
        line += f", oldest written {found.oldest_waiting_at.isoformat(timespec='seconds')}"
    console.print(line, highlight=False)
    colour = "red" if found.rejected else "green"
    console.print(f"[{colour}]{_rows(found.rejected)} rejected[/]", highlight=False)
    for row in found.latest_rejected:
        detail = escape(f"outbox id {row.outbox_id} ({row.data_item}), field {row.field} [{row.rule}]: {row.reason}")
        console.print(f"  {detail}", highlight=False)


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"
