"""`govbus subscriptions run|replay|redeliver`: run a subscription's webhook connector; re-deliver from a time;
send its parked events again."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from pydantic import ValidationError as SettingsError
from rich.console import Console
from rich.table import Table

from connectors.webhook.connector import run_connector
from connectors.webhook.redeliver import Redelivery, RedeliveryReport
from connectors.webhook.settings import WebhookSettings
from consumers.group_offsets import plan_rewind, rewind
from govbus.exceptions import ConfigurationError
from govbus.preflight import require_broker, require_platform
from govbus.settings import ClientSettings, settings_problems
from govbus.sharing.runtime import consumer_group, source_topic
from govbus.sharing.store import SharingStore
from govbus.timespec import parse_time
from govbus.topic_names import TopicSettings
from schemas.catalogue import load_catalogue


def _stdout() -> Console:
    """Tables on stdout; wide ones when piped, rather than folded into 80 columns."""
    return Console(width=None if sys.stdout.isatty() else 200)


def _webhook_settings(name: str, overrides: dict[str, Any]) -> WebhookSettings:
    try:
        return WebhookSettings(webhook_subscription=name, **{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as error:
        raise ConfigurationError(f"webhook settings are invalid: {settings_problems(error)}") from error


def run_subscription(name: str, overrides: dict[str, Any]) -> None:
    """Run the webhook connector of subscription ``name`` in the foreground until SIGTERM or SIGINT."""

    settings = _webhook_settings(name, overrides)
    require_platform(settings)  # its own inputs first, then the platform
    run_connector(settings)


def redeliver(name: str, dry_run: bool, as_json: bool, console: Console) -> None:
    """Send subscription ``name``'s parked events again (:mod:`connectors.webhook.redeliver`); exit 1 if a batch
    got no 2xx."""

    settings = _webhook_settings(name, {})
    require_broker(settings.kafka.bootstrap)
    report = Redelivery(settings, load_catalogue()).run(dry_run)
    if as_json:
        click.echo(json.dumps({"subscription": report.subscription, "group": report.group, "dry_run": dry_run,
                               "redelivered": len(report.redelivered), "skipped": len(report.skipped),
                               "failed": report.failed, "not_shaped": report.not_shaped, "failure": report.failure,
                               "events": report.redelivered, "skipped_events": report.skipped}, indent=2))
    else:
        _print_redelivery(report)
    if report.failure:
        console.print(f"[bold red]error:[/] a batch of {report.failed} parked events got no 2xx ({report.failure}); "
                      "it stays parked: fix the receiver and run this command again", highlight=False)
        sys.exit(1)


def _print_redelivery(report: RedeliveryReport) -> None:
    verb = "would be redelivered" if report.dry_run else "redelivered"
    table = Table(title=f"{report.subscription}: parked events" + (" (dry run: nothing sent)" if report.dry_run
                                                                    else ""))
    for column in ("outcome", "events"):
        table.add_column(column)
    table.add_row(verb, str(len(report.redelivered)))
    table.add_row("skipped (not authorised now)", str(len(report.skipped)))
    table.add_row("failed (no 2xx, stays parked)", str(report.failed))
    table.add_row("not shaped (undecodable, passed over)", str(report.not_shaped))
    _stdout().print(table)
    if report.skipped:
        skipped = Table(title="skipped")
        for column in ("event id", "item", "reason"):
            skipped.add_column(column)
        for row in report.skipped:
            skipped.add_row(row["event_id"], row["item"], row.get("reason", ""))
        _stdout().print(skipped)


def replay(name: str, when_text: str, dry_run: bool, as_json: bool, console: Console) -> None:
    """Move subscription ``name``'s group to the first events at or after ``when_text`` on its source topics."""

    when = parse_time(when_text)
    kafka, prefix = ClientSettings().kafka, TopicSettings().topic_prefix
    require_broker(kafka.bootstrap)
    subscription = SharingStore(kafka, prefix).load().subscriptions.get(name)
    if subscription is None:
        raise click.ClickException(f"no subscription {name!r} (`govbus subscriptions list` shows them)")
    group = consumer_group(name, prefix)
    topics = sorted({source_topic(request.item, prefix) for request in subscription.items})
    rewinds = plan_rewind(kafka, group, topics, when)
    if not dry_run:
        rewind(kafka, group, rewinds)
    if as_json:
        click.echo(json.dumps({"subscription": name, "group": group, "from": when.isoformat(), "applied": not dry_run,
                               "partitions": [{"topic": r.topic, "partition": r.partition, "committed": r.committed,
                                               "target": r.target, "events_again": r.events_again}
                                              for r in rewinds]}, indent=2))
        return
    table = Table(title=f"{name}: replay from {when.astimezone().isoformat(timespec='seconds')}"
                        + (" (dry run: nothing moved)" if dry_run else ""))
    for column in ("topic", "partition", "committed", "from offset", "events again"):
        table.add_column(column)
    for r in rewinds:
        table.add_row(r.topic, str(r.partition), "-" if r.committed is None else str(r.committed), str(r.target),
                      "?" if r.events_again is None else str(r.events_again))
    _stdout().print(table)
    if not dry_run:
        console.print(f"group {group} moved; start the connector (`govbus subscriptions run {name}`) to re-deliver; "
                      "receivers drop events they already applied by idempotency key", highlight=False)
