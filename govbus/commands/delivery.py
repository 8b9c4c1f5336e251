"""`govbus subscriptions run|replay`: run a subscription's webhook connector; re-deliver from a time."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from pydantic import ValidationError as SettingsError
from rich.console import Console
from rich.table import Table

from connectors.webhook.connector import run_connector
from connectors.webhook.settings import WebhookSettings
from consumers.group_offsets import plan_rewind, rewind
from govbus.exceptions import ConfigurationError
from govbus.preflight import require_broker, require_platform
from govbus.settings import ClientSettings
from govbus.sharing.runtime import consumer_group, source_topic
from govbus.sharing.store import SharingStore
from govbus.timespec import parse_time
from govbus.topic_names import TopicSettings


def _stdout() -> Console:
    """Tables on stdout; wide ones when piped, rather than folded into 80 columns."""
    return Console(width=None if sys.stdout.isatty() else 200)


def run_subscription(name: str, overrides: dict[str, Any]) -> None:
    """Run the webhook connector of subscription ``name`` in the foreground until SIGTERM or SIGINT."""

    try:
        settings = WebhookSettings(webhook_subscription=name, **{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as error:
        problems = "; ".join(f"GOVBUS_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in error.errors())
        raise ConfigurationError(f"webhook settings are invalid: {problems}") from error
    require_platform(settings)  # its own inputs first, then the platform
    run_connector(settings)


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
