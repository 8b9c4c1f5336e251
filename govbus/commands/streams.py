"""`govbus streams normalise|topics|dialects`: the normaliser (local dialects -> canonical events)."""

from __future__ import annotations

import json
from typing import Any

import click
import pydantic
from rich.console import Console
from rich.table import Table

from govbus.exceptions import ConfigurationError
from govbus.preflight import require_broker, require_platform
from streams.dialects import ITEMS, dialects_for
from streams.normaliser import run_worker
from streams.normalising.settings import NormaliserSettings
from streams.normalising.topics import ensure_normaliser_topics
from streams.profiles.topology import ProfileSettings, ensure_profile_topics


def normaliser_settings(items: str | None = None, metrics_port: int | None = None) -> NormaliserSettings:
    """Settings from GOVBUS_* variables, with the command line's options on top."""
    overrides: dict[str, Any] = {}
    if items:
        overrides["normaliser_items"] = items
    if metrics_port is not None:
        overrides["normaliser_metrics_port"] = metrics_port
    try:
        return NormaliserSettings(**overrides)
    except pydantic.ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        raise ConfigurationError(f"invalid normaliser settings (GOVBUS_* variables or options): {problems}") from None


def run_normaliser(items: str | None, metrics_port: int | None) -> None:
    """Run the normaliser until SIGTERM (it creates its topics first)."""

    settings = normaliser_settings(items, metrics_port)  # its own inputs first, then the platform
    require_platform(settings)
    run_worker(settings)


def create_topics(items: str | None, console: Console) -> None:
    """Create every topic the normaliser needs; refuse existing ones with another partition count."""

    settings = normaliser_settings(items)
    require_broker(settings.kafka.bootstrap)
    specs = ensure_normaliser_topics(settings)
    for spec in specs:
        console.print(f"  {spec.name} ({spec.partitions})", highlight=False)
    console.print(f"{len(specs)} topics ready for the normaliser ({settings.kafka.bootstrap})")


def sync_processor_topics(partitions: int | None) -> list[str]:
    """Create the normaliser's and the profile builder's topics (settings from GOVBUS_*; ``partitions``, when
    given, instead of their partition settings); return their names. Both refuse existing topics with
    another partition count."""

    normaliser = ensure_normaliser_topics(
        NormaliserSettings() if partitions is None else NormaliserSettings(normaliser_partitions=partitions))
    profiles = ensure_profile_topics(
        ProfileSettings() if partitions is None else ProfileSettings(profiles_partitions=partitions))
    return [spec.name for spec in (*normaliser, *profiles)]


def list_dialects(item: str | None, prefix: str, as_json: bool) -> None:
    """Print every dialect (or those of ``item``): name, item, department, topic, what it is."""
    rows = [{"item": name, "dialect": dialect.name, "department": dialect.department,
             "topic": dialect.topic(prefix), "description": dialect.description}
            for name in ([item] if item else list(ITEMS)) for dialect in dialects_for(name)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"dialects (topic prefix {prefix})")
    for column in ("item", "dialect", "department", "topic", "description"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(row[c] for c in ("item", "dialect", "department", "topic", "description")))
    Console(soft_wrap=True).print(table)
