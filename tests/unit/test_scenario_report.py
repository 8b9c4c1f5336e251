"""The scenario report (bench/scenario/report.py) from small run directories written here as FORMAT.md says, with
numbers chosen so that every figure of the report can be worked out by hand."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bench.scenario.report import first_receipts, latency_windows, percentile, write_report

T0 = 1_800_000_000.0
MIB = 1024 * 1024
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def department_offset(t: int) -> int:
    """100 events/s, but 200/s between 20 and 25 s: 6,500 at 60 s, a mean of 108.3/s, a peak of 200/s."""
    return 100 * t if t <= 20 else 3000 + 100 * (t - 25)


def sample(t: int) -> dict[str, Any]:
    found: dict[str, Any] = {
        "t": T0 + t,
        "rss_bytes": {"normaliser-1": int((100 + 15 * t / 60) * MIB), "webhook": int((50 + 2 * t / 60) * MIB)},
        "end_offsets": {"department": department_offset(t), "canonical": 90 * t},
        "lag_events": {"normaliser": {20: 10, 25: 250, 30: 120}.get(t, 0) if t < 60 else 3},
        "errors": [],
    }
    if t == 30:  # the broker was down: no offsets, and the webhook process between two lives
        found.update(end_offsets={}, lag_events={}, errors=["listing the topics failed: Local: Broker transport"])
        del found["rss_bytes"]["webhook"]
    return found


def write_lines(path: Path, lines: list[dict[str, Any]], tail: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + tail, encoding="utf-8")


def make_run(root: Path, run_id: str, fault: str | None, recovered_after: float | None,
             check: dict[str, Any] | None) -> Path:
    directory = root / run_id
    directory.mkdir()
    (directory / "spec.json").write_text(json.dumps({
        "run_id": run_id, "seed": 7, "rate": 100, "duration_s": 60, "invalid_share": 0.05, "fault": fault,
        "brokers": 1, "prefix": f"scn{run_id}", "started_at": T0, "ended_at": T0 + 60,
        "processes": {"normaliser-1": 101, "webhook": 102}}))
    write_lines(directory / "samples.jsonl", [sample(t) for t in range(0, 61, 5)], tail='{"t": 180000')  # killed
    if fault is not None:
        write_lines(directory / "faults.jsonl", [{
            "fault": fault, "target": "kafka broker", "t_injected": T0 + 20, "t_restored": T0 + 30,
            "t_recovered": None if recovered_after is None else T0 + 20 + recovered_after}])
    deliveries = [{"t_received": T0 + 1 + n / 10, "event_id": f"e{n}", "published_at": T0 + 1 + n / 10 - n / 1000,
                   "item": "enterprise_registration", "event": {"event_id": f"e{n}"}} for n in range(1, 101)]
    write_lines(directory / "deliveries" / "centre.jsonl", deliveries)
    if check is not None:
        (directory / "check.json").write_text(json.dumps(check))
    return directory


CHECK = {
    "ok": False,
    "subscribers": {
        "centre": {"kind": "webhook", "expected": 1000, "held": 998, "lost": 2, "duplicated": 1, "unexpected": 0,
                   "leaked": 0, "redelivered": 5},
        "bank": {"kind": "kafka", "expected": 500, "held": 500, "lost": 0, "duplicated": 0, "unexpected": 3,
                 "leaked": 1, "redelivered": 0}},
    "stages": {"published": 6600, "accepted": 6500, "canonical": 6175, "dead_letter": 325, "lost": 0,
               "duplicated": 0},
    "latency_ms": {"centre": {"count": 998, "p50": 41.5, "p99": 180.25, "max": 950.0}},
}


def section(markdown: str, title: str) -> str:
    """The text of a ``## `` section."""
    start = markdown.index(f"## {title}")
    end = markdown.find("\n## ", start + 1)
    return markdown[start:] if end < 0 else markdown[start:end]


def test_a_fault_matrix_report_has_every_table_with_the_numbers_of_the_files(tmp_path: Path) -> None:
    broker = make_run(tmp_path, "run-a", "broker-kill", 22.5, CHECK)
    receiver = make_run(tmp_path, "run-b", "receiver-down", None, None)
    out = tmp_path / "report"

    report = write_report([broker, receiver], out, "govbus scenario report run-a run-b")

    assert report == out / "report.md"
    markdown = report.read_text()
    assert "Made by `govbus scenario report run-a run-b`." in markdown
    runs = section(markdown, "Runs")
    assert "| run-a | broker-kill | 7 | 100 | 60 | 0.05 | 1 | scnrun-a | 2027-01-15 08:00:00 UTC |" in runs
    faults = section(markdown, "Faults")
    assert "| broker-kill | run-a | FAILED | 2 | 1 | 3 | 1 | 22.5 |" in faults
    assert "| receiver-down | run-b | not checked | - | - | - | - | never |" in faults

    first = section(markdown, "Run run-a")
    assert "| department | 6500 | 108.3 | 200.0 |" in first
    assert "| canonical | 5400 | 90.0 | 90.0 |" in first
    assert "| centre | webhook | 1000 | 998 | 2 | 1 | 0 | 0 | 5 |" in first
    assert "| 6600 | 6500 | 6175 | 325 | 0 | 0 |" in first
    assert "| centre | 998 | 41.5 | 180.25 | 950.0 |" in first
    assert "| normaliser-1 | 100.0 | 115.0 | 15.0 % | **over 10 %** |" in first
    assert "| webhook | 50.0 | 52.0 | 4.0 % |  |" in first
    assert "| normaliser | 250 | 3 |" in first
    assert "| broker-kill | kafka broker | 2027-01-15 08:00:20 UTC | 2027-01-15 08:00:30 UTC |" in first
    assert "1 line(s) of samples.jsonl could not be read and were skipped" in first
    assert "1 of 13 samples could not read everything (first: listing the topics failed" in first
    second = section(markdown, "Run run-b")
    assert "not checked (no check.json" in second
    assert "| receiver-down | kafka broker |" in second and "| never | never |" in second

    linked = re.findall(r"!\[[^]]*]\(([^)]+)\)", markdown)
    assert linked == [f"{run}-{kind}.png" for run in ("broker-kill", "receiver-down")
                      for kind in ("throughput", "latency", "rss", "lag")]
    for name in linked:
        png = (out / name).read_bytes()
        assert png.startswith(PNG_MAGIC) and len(png) > 10_000, name
    assert sorted(path.name for path in out.iterdir()) == sorted([*linked, "report.md"])


def test_one_load_run_has_no_fault_table_and_its_plots_are_named_load(tmp_path: Path) -> None:
    run = make_run(tmp_path, "run-c", None, None, CHECK)

    markdown = write_report([run], tmp_path / "out", "govbus scenario report run-c").read_text()

    assert "## Faults" not in markdown and "### Faults injected" not in markdown
    assert "## Run run-c\n" in markdown
    assert (tmp_path / "out" / "load-latency.png").read_bytes().startswith(PNG_MAGIC)
    assert write_report([run], tmp_path / "out", "again").read_text() == markdown.replace(
        "`govbus scenario report run-c`", "`again`")  # the same files make the same report


def test_two_runs_of_one_fault_get_plots_of_their_own(tmp_path: Path) -> None:
    runs = [make_run(tmp_path, name, "broker-kill", 5.0, None) for name in ("run-d", "run-e")]

    markdown = write_report(runs, tmp_path / "out", "report").read_text()

    assert "(broker-kill-run-d-rss.png)" in markdown and "(broker-kill-run-e-rss.png)" in markdown


def test_latency_windows_take_each_events_first_receipt(tmp_path: Path) -> None:
    path = tmp_path / "centre.jsonl"
    lines = [{"t_received": T0 + n / 10 - 0.05, "event_id": f"e{n}", "published_at": T0 + n / 10 - 0.05 - n / 1000,
              "item": "x"} for n in range(1, 101)]  # in the first 10 s, n ms each
    repeat = {"t_received": T0 + 15, "event_id": "e100", "published_at": T0 + 10 - 0.1, "item": "x"}
    earlier = {"t_received": T0 + 0.01, "event_id": "e50", "published_at": T0, "item": "x"}  # came first, written last
    write_lines(path, [*lines, repeat, earlier, {"t_received": T0 + 16, "event_id": "e0", "published_at": None}],
                tail="{not json\n")

    receipts = first_receipts(path)

    assert len(receipts) == 100  # the repeat, the line without published_at and the broken one left out
    assert (T0 + 0.01, 10.0) in [(t, round(ms, 3)) for t, ms in receipts]  # e50's earliest receipt
    windows = latency_windows(receipts, T0)
    assert [t for t, _ in windows] == [5.0]
    assert abs(windows[0][1] - 99.0) < 1e-3  # latencies 1..100 ms but e50's 10: nearest-rank p99 is 99 (µs floats)
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
