"""The scenario's report: ``report.md`` and its PNG plots, from one run directory (a load run) or several (a fault
matrix, one run per fault), read as bench/scenario/FORMAT.md describes them.

:func:`write_report` writes, in ``out_dir``:

1. ``report.md``: the command that made it; the runs' parameters (``spec.json``); for several runs, the fault
   table (per fault: what the checker counted lost, duplicated, unexpected and leaked over every subscriber, and
   the recovery time ``t_recovered - t_injected`` of ``faults.jsonl``, "never" when it did not recover); then per
   run: the throughput of each stage (events/s from the deltas of ``samples.jsonl``'s ``end_offsets``: the mean
   over the run and the peak between two samples), the checker's table per subscriber and its pipeline counts
   (``check.json``; "not checked" without one), latency p50/p99/max per subscriber (``check.json``), memory
   (each process's RSS at its first and last sample and the growth, flagged over 10 %), consumer lag (the
   largest and the last), and the faults injected.
2. four plots per run, ``<run>-throughput.png``, ``<run>-latency.png`` (publish-to-delivery p99 per subscriber
   over 10 s windows, from ``deliveries/*.jsonl``: each event's first receipt, ``t_received - published_at``),
   ``<run>-lag.png`` and ``<run>-rss.png``, where ``<run>`` is the fault's name (``load`` for a run without one,
   with the run id added when two runs would share a name). Each fault's injection is a vertical line, its
   restoration a dotted one. The plots are drawn with matplotlib's Agg backend (no display, no pyplot state).

A sample without a stage, consumer or process (a read that failed while the broker was down, a process between
two lives) is a gap, not a zero: rates and extremes are taken over the samples that have the value. A line that
is not JSON (the last one of a writer that was killed) is skipped and counted in the report.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from govbus.exceptions import ConfigurationError

GROWTH_FLAG_PERCENT = 10.0
"""memory growth over the run above which a process is flagged"""
LATENCY_WINDOW_S = 10.0
"""the width of a window of the latency plot"""
CHECKED_COUNTS = ("expected", "held", "lost", "duplicated", "unexpected", "leaked", "redelivered")
FAULT_COUNTS = ("lost", "duplicated", "unexpected", "leaked")
STAGE_COUNTS = ("published", "accepted", "canonical", "dead_letter", "lost", "duplicated")
PLOTS = ("throughput", "latency", "lag", "rss")
MIB = 1024 * 1024

Point = tuple[float, float]
Series = dict[str, list[Point]]
"""name -> (seconds since the run started, value), in time order"""


# -- reading a run ---------------------------------------------------------------------------------------------


def read_json_lines(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The objects of a JSON Lines file (none when it is missing) and the number of lines that were not one."""
    if not path.exists():
        return [], 0
    found: list[dict[str, Any]] = []
    skipped = 0
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError:
                skipped += 1
                continue
            if isinstance(value, dict):
                found.append(value)
            else:
                skipped += 1
    return found, skipped


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    value = json.loads(path.read_text(encoding="utf-8"))
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class Run:
    """One run directory's files (see FORMAT.md)."""

    directory: Path
    spec: dict[str, Any]
    samples: list[dict[str, Any]]
    faults: list[dict[str, Any]]
    check: dict[str, Any] | None
    deliveries: dict[str, Path]
    """subscriber -> its deliveries file"""
    skipped: dict[str, int] = field(default_factory=dict)
    """file name -> lines that were not JSON (or, in samples.jsonl, had no time)"""

    @property
    def run_id(self) -> str:
        return str(self.spec.get("run_id") or self.directory.name)

    @property
    def fault(self) -> str | None:
        fault = self.spec.get("fault")
        return str(fault) if fault else None

    @property
    def t0(self) -> float:
        """The run's start: the plots' time 0."""
        started = self.spec.get("started_at")
        if isinstance(started, int | float):
            return float(started)
        return float(self.samples[0]["t"]) if self.samples else 0.0


def load_run(directory: Path) -> Run:
    """Read a run directory; ``spec.json`` is required, every other file optional."""
    spec = _read_json(directory / "spec.json")
    if spec is None:
        raise ConfigurationError(f"{directory} is not a scenario run: it has no spec.json; give a directory "
                                 "`govbus scenario run` wrote")
    samples, bad_samples = read_json_lines(directory / "samples.jsonl")
    faults, bad_faults = read_json_lines(directory / "faults.jsonl")
    timed = sorted((sample for sample in samples if isinstance(sample.get("t"), int | float)),
                   key=lambda sample: float(sample["t"]))
    bad_samples += len(samples) - len(timed)
    deliveries = {path.stem: path for path in sorted((directory / "deliveries").glob("*.jsonl"))}
    skipped = {name: count for name, count in (("samples.jsonl", bad_samples), ("faults.jsonl", bad_faults))
               if count}
    return Run(directory, spec, timed, faults, _read_json(directory / "check.json"), deliveries, skipped)


# -- what the samples say ----------------------------------------------------------------------------------------


def sample_series(samples: Iterable[Mapping[str, Any]], key: str, t0: float) -> Series:
    """Per name under ``key`` (``end_offsets``, ``lag_events``, ``rss_bytes``), its values over time; a sample
    without the name is a gap, and so is a negative value (an end offset that could not be read, in runs sampled
    before the sampler left those out)."""
    series: Series = {}
    for sample in samples:
        for name, value in (sample.get(key) or {}).items():
            if float(value) >= 0:
                series.setdefault(name, []).append((float(sample["t"]) - t0, float(value)))
    return series  # in the order the samples name them (the sampler keeps the pipeline's order)


def rates(points: Sequence[Point]) -> list[Point]:
    """Events/s between consecutive points, at the later one's time (a decrease counts as 0)."""
    return [(t, max(0.0, (v - v_before) / (t - t_before)))
            for (t_before, v_before), (t, v) in itertools.pairwise(points) if t > t_before]


@dataclass(frozen=True)
class Throughput:
    end: float
    mean: float | None
    """events/s over the run (None with fewer than two samples)"""
    peak: float | None
    """the largest rate between two consecutive samples"""


def throughput(points: Sequence[Point]) -> Throughput:
    if len(points) < 2 or points[-1][0] <= points[0][0]:
        return Throughput(points[-1][1] if points else 0.0, None, None)
    mean = max(0.0, points[-1][1] - points[0][1]) / (points[-1][0] - points[0][0])
    return Throughput(points[-1][1], mean, max(rate for _, rate in rates(points)))


@dataclass(frozen=True)
class Memory:
    start: float
    end: float

    @property
    def growth_percent(self) -> float | None:
        return None if self.start <= 0 else (self.end - self.start) / self.start * 100

    @property
    def flagged(self) -> bool:
        growth = self.growth_percent
        return growth is not None and growth > GROWTH_FLAG_PERCENT


WARM_UP_SHARE = 0.1
"""the first share of the publishing time, left out of memory growth"""


def memory(points: Sequence[Point]) -> Memory:
    return Memory(points[0][1], points[-1][1])


def recovery_seconds(fault: Mapping[str, Any]) -> float | None:
    """``t_recovered - t_injected``; None when it never recovered."""
    recovered, injected = fault.get("t_recovered"), fault.get("t_injected")
    if recovered is None or injected is None:
        return None
    return float(recovered) - float(injected)


# -- latency from the deliveries ------------------------------------------------------------------------------------


def delivery_times(line: str) -> tuple[str, float, float | None]:
    """(event_id, t_received, published_at) of a deliveries line; ValueError, KeyError or TypeError when the
    line is not one."""
    delivery = json.loads(line)
    published = delivery["published_at"]
    return str(delivery["event_id"]), float(delivery["t_received"]), None if published is None else float(published)


def first_receipts(path: Path) -> list[tuple[float, float]]:
    """(t_received, latency in ms) of each event's first receipt (its earliest ``t_received``) in a deliveries
    file (a line without ``published_at``, or not JSON, is skipped)."""
    first: dict[str, tuple[float, float]] = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            try:
                event_id, received, published = delivery_times(line)
            except (ValueError, KeyError, TypeError):
                continue
            known = first.get(event_id)
            if published is not None and (known is None or received < known[0]):
                first[event_id] = (received, (received - published) * 1000)
    return list(first.values())


def percentile(values: Sequence[float], percent: float) -> float:
    """The nearest-rank percentile of ``values`` (not empty)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def latency_windows(receipts: Iterable[tuple[float, float]], t0: float,
                    window: float = LATENCY_WINDOW_S) -> list[Point]:
    """The p99 latency (ms) of the receipts of each ``window`` seconds, at the window's middle."""
    windows: dict[int, list[float]] = {}
    for received, latency in receipts:
        windows.setdefault(math.floor((received - t0) / window), []).append(latency)
    return [((index + 0.5) * window, percentile(latencies, 99)) for index, latencies in sorted(windows.items())]


# -- Markdown ------------------------------------------------------------------------------------------------------


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return [*lines, ""]


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _moment(value: object) -> str:
    if not isinstance(value, int | float):
        return "-"
    return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _count(mapping: Mapping[str, Any], key: str) -> object:
    value = mapping.get(key)
    return "-" if value is None else value


def parameters_section(runs: Sequence[Run]) -> list[str]:
    headers = ("run", "fault", "seed", "rate (events/s)", "duration (s)", "invalid share", "brokers", "prefix",
               "started", "ended", "processes")
    rows = [(run.run_id, run.fault or "-", _count(run.spec, "seed"), _count(run.spec, "rate"),
             _count(run.spec, "duration_s"), _count(run.spec, "invalid_share"), _count(run.spec, "brokers"),
             _count(run.spec, "prefix"), _moment(run.spec.get("started_at")), _moment(run.spec.get("ended_at")),
             len(run.spec.get("processes") or {})) for run in runs]
    return ["## Runs", "", *table(headers, rows)]


def _recoveries(faults: Sequence[Mapping[str, Any]]) -> str:
    if not faults:
        return "no fault recorded"
    found = [recovery_seconds(fault) for fault in faults]
    return ", ".join("never" if seconds is None else f"{seconds:.1f}" for seconds in found)


def _check_verdict(check: Mapping[str, Any] | None) -> str:
    if check is None:
        return "not checked"
    return "ok" if check.get("ok") else "FAILED"


def _summed(check: Mapping[str, Any] | None, key: str) -> object:
    if check is None:
        return "-"
    return sum(int(counts.get(key) or 0) for counts in (check.get("subscribers") or {}).values())


def fault_section(runs: Sequence[Run]) -> list[str]:
    headers = ("fault", "run", "check", *FAULT_COUNTS, "recovery (s)")
    rows = [(run.fault or "none (load)", run.run_id, _check_verdict(run.check),
             *(_summed(run.check, key) for key in FAULT_COUNTS), _recoveries(run.faults)) for run in runs]
    return ["## Faults", "", "Counts are summed over the subscribers (check.json); recovery is t_recovered - "
            "t_injected (faults.jsonl).", "", *table(headers, rows)]


def throughput_section(run: Run, plot: str) -> list[str]:
    rows = []
    for stage, points in sample_series(run.samples, "end_offsets", run.t0).items():
        found = throughput(points)
        rows.append((stage, int(found.end), _number(found.mean), _number(found.peak)))
    if not rows:
        return ["### Throughput per stage", "", "no samples of the end offsets", ""]
    return ["### Throughput per stage", "", "From the stages' end offsets (transaction markers included) between "
            "samples.", "", *table(("stage", "end offset", "mean (events/s)", "peak (events/s)"), rows),
            f"![throughput per stage]({plot})", ""]


def check_section(run: Run) -> list[str]:
    if run.check is None:
        return ["### Subscribers", "", "not checked (no check.json: run `govbus scenario check`)", ""]
    rows = [(name, counts.get("kind", "-"), *(_count(counts, key) for key in CHECKED_COUNTS))
            for name, counts in sorted((run.check.get("subscribers") or {}).items())]
    stages = run.check.get("stages") or {}
    return ["### Subscribers", "", f"Check: {_check_verdict(run.check)}.", "",
            *table(("subscriber", "kind", *CHECKED_COUNTS), rows),
            *table(STAGE_COUNTS, [tuple(_count(stages, key) for key in STAGE_COUNTS)])]


def latency_section(run: Run, plot: str) -> list[str]:
    lines = ["### Latency, publish to delivery", ""]
    if run.check is None:
        lines += ["not checked (no check.json)", ""]
    else:
        rows = [(name, _count(found, "count"), _count(found, "p50"), _count(found, "p99"), _count(found, "max"))
                for name, found in sorted((run.check.get("latency_ms") or {}).items())]
        lines += table(("subscriber", "events", "p50 (ms)", "p99 (ms)", "max (ms)"), rows)
    return [*lines, f"![p99 latency per {LATENCY_WINDOW_S:.0f} s window]({plot})", ""]


def _growth(found: Memory) -> tuple[str, str]:
    growth = found.growth_percent
    return (_number(growth) + " %" if growth is not None else "-",
            f"**over {GROWTH_FLAG_PERCENT:.0f} %**" if found.flagged else "")


def load_window(run: Run) -> tuple[float, float] | None:
    """(start, end), relative to the run's first sample, of the load: from WARM_UP_SHARE of the publishing time
    after it began (imports, caches and connection pools filled: a process's first minutes are not growth) to
    its end; None for a run that did not record when it published."""
    began, ended = run.spec.get("publish_started_at"), run.spec.get("publish_ended_at")
    if began is None or ended is None:
        return None
    warm = float(began) + WARM_UP_SHARE * (float(ended) - float(began))
    return warm - run.t0, float(ended) - run.t0


def memory_section(run: Run, plot: str) -> list[str]:
    rows = []
    window = load_window(run)
    for process, points in sample_series(run.samples, "rss_bytes", run.t0).items():
        inside = [p for p in points if window is None or window[0] <= p[0] <= window[1]] or points
        found = memory(inside)
        rows.append((process, _number(found.start / MIB), _number(found.end / MIB), *_growth(found)))
    if not rows:
        return ["### Memory", "", "no samples of the processes' memory", ""]
    how = ("RSS at each process's first and last sample." if window is None else
           f"RSS of each process under load: at its first sample once {WARM_UP_SHARE:.0%} of the publishing time "
           f"had passed (warmed up) and at its last sample before publishing ended.")
    return ["### Memory", "", how, "",
            *table(("process", "start (MiB)", "end (MiB)", "growth", "flag"), rows), f"![RSS per process]({plot})",
            ""]


def lag_section(run: Run, plot: str) -> list[str]:
    rows = [(consumer, int(max(v for _, v in points)), int(points[-1][1]))
            for consumer, points in sample_series(run.samples, "lag_events", run.t0).items()]
    if not rows:
        return ["### Consumer lag", "", "no samples of the consumers' lag", ""]
    return ["### Consumer lag", "", *table(("consumer", "max (events)", "at end (events)"), rows),
            f"![consumer lag]({plot})", ""]


def injected_section(run: Run) -> list[str]:
    if not run.faults:
        return []
    rows = [(fault.get("fault", "-"), fault.get("target", "-"), _moment(fault.get("t_injected")),
             _moment(fault.get("t_restored")) if fault.get("t_restored") is not None else "not restored",
             _moment(fault.get("t_recovered")) if fault.get("t_recovered") is not None else "never",
             _recoveries([fault])) for fault in run.faults]
    return ["### Faults injected", "",
            *table(("fault", "target", "injected", "restored", "recovered", "recovery (s)"), rows)]


def errors_section(run: Run) -> list[str]:
    failed = [sample for sample in run.samples if sample.get("errors")]
    notes = [f"{count} line(s) of {name} could not be read and were skipped" for name, count in run.skipped.items()]
    if failed:
        notes.append(f"{len(failed)} of {len(run.samples)} samples could not read everything (first: "
                     f"{_cell(failed[0]['errors'][0])})")
    return ["### Sampling", "", *(f"- {note}" for note in notes), ""] if notes else []


def run_section(run: Run, plots: Mapping[str, str]) -> list[str]:
    title = f"## Run {run.run_id}" + (f" (fault: {run.fault})" if run.fault else "")
    return [title, "", *throughput_section(run, plots["throughput"]), *check_section(run),
            *latency_section(run, plots["latency"]), *memory_section(run, plots["rss"]),
            *lag_section(run, plots["lag"]), *injected_section(run), *errors_section(run)]


# -- plots ---------------------------------------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "run"


def plot_names(runs: Sequence[Run]) -> list[dict[str, str]]:
    """Per run, plot kind -> its file name (deterministic: from the fault's name, or the run id on a clash)."""
    bases = [_slug(run.fault or "load") for run in runs]
    bases = [base if bases.count(base) == 1 else _slug(f"{base}-{run.run_id}")
             for base, run in zip(bases, runs, strict=True)]
    return [{kind: f"{base}-{kind}.png" for kind in PLOTS} for base in bases]


def _mark_faults(axes: Axes, faults: Sequence[Mapping[str, Any]], t0: float) -> None:
    for index, fault in enumerate(faults):
        injected, restored = fault.get("t_injected"), fault.get("t_restored")
        if isinstance(injected, int | float):
            axes.axvline(injected - t0, color="red", linestyle="--", linewidth=1,
                         label=f"{fault.get('fault', 'fault')} injected" if index == 0 else None)
        if isinstance(restored, int | float):
            axes.axvline(restored - t0, color="grey", linestyle=":", linewidth=1,
                         label="restored" if index == 0 else None)


def broken(points: Sequence[Point], step: float) -> tuple[list[float], list[float]]:
    """The x and y of a line through ``points``, broken (a NaN) where two points are more than 1.5 ``step``
    apart: samples missing there (the broker was down, a process between two lives), or no receipt."""
    xs: list[float] = []
    ys: list[float] = []
    for index, (t, value) in enumerate(points):
        if index and t - points[index - 1][0] > 1.5 * step:
            xs.append(t)
            ys.append(math.nan)
        xs.append(t)
        ys.append(value)
    return xs, ys


@dataclass(frozen=True)
class Timeline:
    """A run's time axis: its start (the plots' 0), its length in seconds and its faults."""

    t0: float
    length: float
    faults: Sequence[Mapping[str, Any]]

    @classmethod
    def of(cls, run: Run) -> Timeline:
        ended = run.spec.get("ended_at")
        last = float(ended) if isinstance(ended, int | float) else max((float(s["t"]) for s in run.samples),
                                                                        default=run.t0)
        return cls(run.t0, max(last - run.t0, 1.0), run.faults)


def sampling_step(samples: Sequence[Mapping[str, Any]]) -> float:
    """The usual time between two samples (the median); infinite with fewer than two."""
    steps = sorted(float(b["t"]) - float(a["t"]) for a, b in itertools.pairwise(samples))
    return steps[len(steps) // 2] if steps else math.inf


def draw(path: Path, title: str, unit: str, series: Mapping[str, Sequence[Point]], timeline: Timeline,
         step: float) -> None:
    """One line plot of ``series`` over the run (lines broken at gaps wider than 1.5 ``step``), the faults
    marked, written to ``path`` as PNG."""
    figure = Figure(figsize=(10, 4.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for name, points in series.items():
        axes.plot(*broken(points, step), label=name, linewidth=1.2, marker=".", markersize=3)
    _mark_faults(axes, timeline.faults, timeline.t0)
    if not any(series.values()):
        axes.text(0.5, 0.5, "no data", transform=axes.transAxes, ha="center", va="center", color="grey")
    axes.set_xlim(0, timeline.length)
    highest = max((value for points in series.values() for _, value in points if not math.isnan(value)), default=0.0)
    axes.set_ylim(0, highest * 1.08 if highest > 0 else 1.0)
    axes.set_title(title)
    axes.set_xlabel("seconds since the run started")
    axes.set_ylabel(unit)
    axes.grid(True, alpha=0.3)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    figure.savefig(path, format="png", metadata={"Software": None})


def draw_run(run: Run, out_dir: Path, names: Mapping[str, str]) -> None:
    """The four plots of ``run``, named as ``names`` says."""
    timeline, step, label = Timeline.of(run), sampling_step(run.samples), run.fault or run.run_id
    t0 = timeline.t0
    throughputs = {stage: rates(points) for stage, points in sample_series(run.samples, "end_offsets", t0).items()}
    latencies = {name: latency_windows(first_receipts(path), t0) for name, path in run.deliveries.items()}
    memories = {name: [(t, v / MIB) for t, v in points]
                for name, points in sample_series(run.samples, "rss_bytes", t0).items()}
    draw(out_dir / names["throughput"], f"throughput per stage ({label})", "events/s", throughputs, timeline, step)
    draw(out_dir / names["latency"], f"publish-to-delivery p99 per {LATENCY_WINDOW_S:.0f} s window ({label})", "ms",
         latencies, timeline, LATENCY_WINDOW_S)
    draw(out_dir / names["lag"], f"consumer lag ({label})", "events",
         sample_series(run.samples, "lag_events", t0), timeline, step)
    draw(out_dir / names["rss"], f"RSS per process ({label})", "MiB", memories, timeline, step)


# -- the report ----------------------------------------------------------------------------------------------------


def write_report(run_dirs: list[Path], out_dir: Path, command: str) -> Path:
    """Write ``out_dir/report.md`` and its plots from ``run_dirs`` (see the module docstring); its path."""
    if not run_dirs:
        raise ConfigurationError("a report needs at least one run directory: give those `govbus scenario run` wrote")
    runs = [load_run(directory) for directory in run_dirs]
    out_dir.mkdir(parents=True, exist_ok=True)
    names = plot_names(runs)
    lines = ["# Scenario report", "", f"Made by `{command}`.", "", *parameters_section(runs)]
    if len(runs) > 1:
        lines += fault_section(runs)
    for run, plots in zip(runs, names, strict=True):
        draw_run(run, out_dir, plots)
        lines += run_section(run, plots)
    report = out_dir / "report.md"
    report.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
    return report
