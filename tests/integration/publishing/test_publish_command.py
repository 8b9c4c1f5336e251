"""`govbus publish ITEM FILE` as a department runs it: real process, broker and registry."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from govbus.demo.synthetic import enterprise_registrations
from govbus.topic_reader import read_topic
from testsupport.connections import kafka_at


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in record.items()}


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "govbus.cli", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120, check=False)


def test_jsonl_file_with_bad_lines(platform_env: dict[str, str], item_topics: Callable[..., str],
                                   kafka_bootstrap: str, tmp_path: Path) -> None:
    topic = item_topics("enterprise_registration")
    good = [_jsonable(s.record) for s in enterprise_registrations(40, invalid_share=0.0, seed=5)]
    wrong_check = {**good[0], "uscc": good[0]["uscc"][:17] + ("0" if good[0]["uscc"][17] != "0" else "1")}
    missing_name = {k: v for k, v in good[1].items() if k != "name"}
    lines = [json.dumps(r, ensure_ascii=False) for r in good[2:]]
    lines[5:5] = ["{not json"] + [json.dumps(r, ensure_ascii=False) for r in (wrong_check, missing_name)]
    source = tmp_path / "registrations.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report_path = tmp_path / "report.json"

    result = _run(platform_env, "publish", "enterprise_registration", str(source),
                  "--department", "market-regulation", "--report", str(report_path))

    assert result.returncode == 1, result.stderr
    assert "38 accepted, 3 rejected" in result.stderr
    report = json.loads(report_path.read_text())
    assert report["accepted"] == 38
    rejected = {r["line"]: r for r in report["rejected"]}
    assert sorted(rejected) == [6, 7, 8]
    assert rejected[6]["rule"] == "json"
    assert rejected[7]["field"] == "uscc" and "check character" in rejected[7]["reason"]
    assert rejected[8]["field"] == "name"
    keys = {m.key().decode() for m in read_topic(kafka_at(kafka_bootstrap), topic)}
    assert keys == {r["uscc"] for r in good[2:]}


def test_clean_csv_file_exits_zero(platform_env: dict[str, str], item_topics: Callable[..., str],
                                   kafka_bootstrap: str, tmp_path: Path) -> None:
    topic = item_topics("enterprise_registration")
    records = [_jsonable(s.record) for s in enterprise_registrations(15, invalid_share=0.0, seed=8)]
    source = tmp_path / "registrations.csv"
    with open(source, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    result = _run(platform_env, "publish", "enterprise_registration", str(source), "--department", "market-regulation")
    assert result.returncode == 0, result.stderr
    assert "15 accepted, 0 rejected" in result.stderr
    assert len(read_topic(kafka_at(kafka_bootstrap), topic)) == 15


def test_unknown_item_and_foreign_department_are_refused_in_one_line(
    platform_env: dict[str, str], item_topics: Callable[..., str], tmp_path: Path,
) -> None:
    item_topics("enterprise_registration")
    source = tmp_path / "x.jsonl"
    source.write_text("{}\n")
    unknown = _run(platform_env, "publish", "no_such_item", str(source), "--department", "market-regulation")
    assert unknown.returncode == 1 and "no_such_item" in unknown.stderr and "Traceback" not in unknown.stderr
    foreign = _run(platform_env, "publish", "enterprise_registration", str(source), "--department", "taxation")
    assert foreign.returncode == 1 and "may not publish" in foreign.stderr and "Traceback" not in foreign.stderr
