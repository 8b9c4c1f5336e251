"""What ``govbus scenario run|check|report`` do, printed for a person (the CLI in govbus/cli.py only parses)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from bench.scenario.check import check_run
from bench.scenario.report import write_report
from bench.scenario.runner import run_scenario
from bench.scenario.spec import RunFiles, ScenarioSpec
from govbus.exceptions import ConfigurationError, PlatformError
from govbus.platform import dev
from govbus.settings import PlatformSettings, settings_problems


def _console() -> Console:
    return Console(width=None if sys.stdout.isatty() else 140)


def parse_mix(text: str) -> dict[str, float]:
    """``sdk=3,outbox=0`` -> {"sdk": 3.0, "outbox": 0.0}; ConfigurationError naming what is wrong."""
    mix: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        path, _, weight = part.partition("=")
        try:
            mix[path.strip()] = float(weight)
        except ValueError:
            raise ConfigurationError(f"--mix {part!r}: write PATH=WEIGHT, e.g. sdk=3") from None
    return mix


def run_command(parameters: dict[str, Any], out: Path | None, check: bool, mix: str = "") -> int:
    console = _console()
    try:
        spec = ScenarioSpec(**parameters, mix=parse_mix(mix))
    except ValidationError as error:
        raise ConfigurationError(f"invalid scenario: {settings_problems(error)}") from None
    files = run_scenario(spec, out, console)
    return _check_and_print(files, console) if check else 0


def check_command(run_dir: Path, as_json: bool) -> int:
    console = _console()
    if as_json:
        report = _check(RunFiles(run_dir))
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0 if report["ok"] else 1
    return _check_and_print(RunFiles(run_dir), console)


def matrix_command(out: Path, faults: list[str], parameters: dict[str, Any]) -> int:
    """One run per fault (fault at 30% of the publishing time, samples every 2 s), each checked; one report."""
    console = _console()
    runs, failed = [], []
    for fault in faults:
        files = run_scenario(ScenarioSpec(**parameters, fault=fault, sample_every=2.0), out / fault, console)
        if _check_and_print(files, console) != 0:
            failed.append(fault)
        runs.append(files.root)
    command = f"govbus scenario matrix --out {out} --rate {parameters['rate']:g} --duration " \
              f"{parameters['duration_s']:g}" + "".join(f" --fault {f}" for f in faults if len(faults) < 13)
    report_command(runs, out / "report", command)
    if failed:
        console.print(f"[bold red]not all zeros: {', '.join(failed)}[/]")
    return 1 if failed else 0


def report_command(run_dirs: list[Path], out: Path, command: str) -> None:
    path = write_report(run_dirs, out, command)
    _console().print(f"report: {path}")


def _check(files: RunFiles) -> dict[str, Any]:
    state = dev.load_state(PlatformSettings())
    if state is None:
        raise PlatformError("the check reads the run's topics from the local platform, which is not running: "
                            "`govbus dev up` (the run's topics are kept in its data)")
    return check_run(files, state.kafka, state.registry)


def _check_and_print(files: RunFiles, console: Console) -> int:
    with console.status("reading every topic of the run back, and what the subscribers hold..."):
        report = _check(files)
    _print(report, console)
    return 0 if report["ok"] else 1


def _print(report: dict[str, Any], console: Console) -> None:
    stages = report["stages"]
    console.print(f"published {stages['published']}: {stages['refused_at_source']} refused at the source, "
                  f"{stages['accepted']} accepted -> {stages['canonical']} canonical, {stages['dead_letter']} "
                  f"dead letters; lost {stages['lost']}, duplicated {stages['duplicated']}, unexpected "
                  f"{stages['unexpected']}")
    table = Table(title="Every subscriber, record by record")
    columns = ("subscriber", "kind", "owed", "held", "lost", "duplicated", "unexpected", "leaked", "redelivered",
               "p50 ms", "p99 ms", "max ms")
    for column in columns:
        table.add_column(column, justify="left" if column in ("subscriber", "kind") else "right")
    for name, counts in report["subscribers"].items():
        latency = report["latency_ms"].get(name, {})
        table.add_row(name, counts["kind"], *(str(counts[c]) for c in ("expected", "held", "lost", "duplicated",
                                                                      "unexpected", "leaked", "redelivered")),
                      *(str(latency.get(k, "-")) for k in ("p50", "p99", "max")))
    console.print(table)
    for fault in report.get("recovery", []):
        console.print(f"fault {fault['fault']} ({fault['target']}): recovered in "
                      f"{fault['recovery_s'] if fault['recovery_s'] is not None else 'never'} s")
    for restart in report.get("restarts", []):
        console.print(f"[yellow]{restart['process']} exited by itself and was started again (as compose's "
                      f"restart: on-failure would)[/]")
    for name, counts in report["subscribers"].items():
        for example in counts["examples"]:
            console.print(f"  {name}: {example}", highlight=False)
    for example in stages["examples"]:
        console.print(f"  stages: {example}", highlight=False)
    verdict = "[bold green]all zeros[/]" if report["ok"] else "[bold red]NOT all zeros[/]"
    console.print(f"check: {verdict}")
