"""``govbus status [--json]`` (the bus on one screen) and the start of ``govbus run console``.

The components checked are ``GOVBUS_STATUS_TARGETS`` and, when ``GOVBUS_STATUS_DEV_PLATFORM`` is on (the
default), those the local platform started (``govbus dev up``: its exporter's ``/metrics``, from
``<home>/dev/state.json``) if that platform's broker is the one the status reads: a platform state left from
another broker says nothing about this one. A component named in both is checked once, at the URL the setting
gives.

Exit codes (an operator's script or a monitoring check runs ``govbus status --json`` and looks at the code
first): 0 healthy; 1 something needs attention (the broker, the registry or a component does not answer, a
source, system or subscription is silent, or a part of the bus could not be read: the ``problems`` say what);
2 invalid settings. Dead letters, parked events and expiring grants are ``notes`` and leave the code 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import click
from rich.console import Console
from rich.table import Table

from govbus.operations.console.page import problems
from govbus.operations.console.server import run_console as serve_console
from govbus.operations.console.settings import ConsoleSettings
from govbus.operations.status import BusStatus, duration
from govbus.operations.status_reads import StatusWatch
from govbus.operations.status_settings import StatusSettings, Target
from govbus.platform import dev
from govbus.settings import PlatformSettings

HEALTHY, UNHEALTHY = 0, 1


def platform_targets(settings: StatusSettings, platform: PlatformSettings) -> list[Target]:
    """The components ``govbus dev up`` started, if its broker is ``settings``' (see the module docstring)."""
    if not settings.status_dev_platform:
        return []
    state = dev.load_state(platform)
    if state is None or state.kafka_bootstrap != settings.kafka.bootstrap or not state.exporter_metrics_url:
        return []
    return [Target(name="exporter", url=state.exporter_metrics_url)]


def components(settings: StatusSettings, platform: PlatformSettings) -> list[Target]:
    """``GOVBUS_STATUS_TARGETS``, then the platform's components not named there."""
    named = {target.name for target in settings.status_targets}
    return [*settings.status_targets, *(t for t in platform_targets(settings, platform) if t.name not in named)]


def read_status(settings: StatusSettings) -> BusStatus:
    """The bus status now, with the components of :func:`components`."""
    watch = StatusWatch(settings, components(settings, PlatformSettings()))
    try:
        return watch.status()
    finally:
        watch.close()


def run_console(settings: ConsoleSettings) -> None:
    """``govbus run console``: the console with the same components as ``govbus status``."""
    extra = [t for t in platform_targets(settings, PlatformSettings())
             if t.name not in {s.name for s in settings.status_targets}]
    serve_console(settings, tuple(extra))


def show_status(as_json: bool, console: Console) -> int:
    """Print the status (rich tables, or JSON on stdout); the exit code (see the module docstring)."""
    status = read_status(StatusSettings())
    if as_json:
        click.echo(status.model_dump_json(indent=2))
    else:
        print_status(status, console)
    return HEALTHY if status.healthy else UNHEALTHY


def print_status(status: BusStatus, console: Console) -> None:
    word = "[bold green]healthy[/]" if status.healthy else f"[bold red]{problems(len(status.problems))}[/]"
    console.print(f"bus of topic prefix {status.topic_prefix}: {word} (checked at "
                  f"{status.checked_at.astimezone():%Y-%m-%d %H:%M:%S}, took {status.seconds:.2f} s)", highlight=False)
    console.print(_platform(status))
    if status.subscriptions:
        console.print(_subscriptions(status))
    lagging = [g for g in status.groups if g.lag_events]
    if lagging:
        console.print(_table("Other consumer groups with events waiting", ("group", "waiting", "oldest"),
                             [(g.group, f"{g.lag_events:,}", duration(g.lag_seconds)) for g in lagging]))
    console.print(f"dead letters in the last hour: {status.dead_letters_last_hour:,}; parked events: "
                  f"{status.parked_last_hour:,}" if status.offsets_read else "topics not read", highlight=False)
    if status.silent_sources:
        console.print(_table("Silent sources", ("department", "item", "source system", "cycle", "silent for"),
                             [(s.department, f"{s.item} {s.item_title}", s.source_system, s.update_cycle,
                               duration(s.silent_for_seconds)) for s in status.silent_sources]))
    if status.silent_systems:
        console.print(_table("Silent systems", ("system", "department", "last event"),
                             [(f"{s.system} {s.name}", s.department,
                               "never" if s.never_published else duration(s.silent_for_seconds) + " ago")
                              for s in status.silent_systems]))
    if status.grants_expiring:
        console.print(_table("Grants expiring soon", ("grant", "department", "subscriber", "item", "in"),
                             [(g.grant, g.department, g.subscriber, g.item, duration(max(g.expires_in_seconds, 0)))
                              for g in status.grants_expiring]))
    for problem in status.problems:
        console.print(f"[bold red]problem:[/] {problem}", highlight=False)
    for note in status.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    return table


def _state(up: bool) -> str:
    return "[green]up[/]" if up else "[bold red]down[/]"


def _platform(status: BusStatus) -> Table:
    rows = [(name, check.address, _state(check.reachable), f"{check.seconds:.3f} s", "")
            for name, check in (("broker", status.broker), ("registry", status.registry))]
    rows += [(c.name, c.url, _state(c.up), f"{c.seconds:.3f} s",
              f"{c.last_scrape_at.astimezone():%H:%M:%S}" if c.last_scrape_at else "never")
             for c in status.components]
    return _table("Platform (the problems below say why something is down)",
                  ("name", "address", "state", "check took", "last answer"), rows)


def _subscriptions(status: BusStatus) -> Table:
    return _table("Subscriptions (their connectors' groups, running or not)",
                  ("subscription", "waiting", "oldest", "idle", ""),
                  [(s.name, f"{s.lag_events:,}", duration(s.lag_seconds) if s.lag_events else "",
                    duration(s.idle_seconds) if s.idle_seconds else "", "[bold red]silent[/]" if s.silent else "")
                   for s in status.subscriptions])

