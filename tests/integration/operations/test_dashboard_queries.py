"""Every query of the Grafana dashboards is PromQL Prometheus accepts, checked by promtool (Debian's
``prometheus`` package, installed on demand): each expression becomes a recording rule of a rules file that
``promtool check rules`` parses, Grafana's ``$__rate_interval`` replaced by a window; and the grants dashboard's
"days left" reads days, evaluated by ``promtool test rules`` on a grant that expires ten days after the clock's
start."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from deploy.grafana import generate
from govbus.platform.debian import ensure_tool

WINDOW = "1m"
"""what Grafana's $__rate_interval becomes for promtool"""
DAY = 86400


def _queries() -> list[str]:
    exprs = []
    for text in generate.rendered().values():
        board = json.loads(text)
        exprs += [target["expr"] for panel in board["panels"] if panel["type"] != "row" for target in panel["targets"]]
    return [expr.replace("$__rate_interval", WINDOW) for expr in exprs]


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = ensure_tool("promtool", package="prometheus")
    return subprocess.run([str(promtool), *args], capture_output=True, text=True, timeout=60, check=False)


def test_promtool_parses_every_dashboard_query(tmp_path: Path) -> None:
    queries = _queries()
    assert len(queries) > 50
    rules = [{"record": f"govbus_dashboard:query_{n}", "expr": expr} for n, expr in enumerate(queries)]
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    checked = _promtool("check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"{len(rules)} rules found" in checked.stdout


def test_days_left_per_grant_reads_days(tmp_path: Path) -> None:
    [days_left] = [expr for expr in _queries() if expr.startswith("(govbus_grant_expiry_timestamp_seconds - time())")]
    labels = 'department="taxation",subscriber="hz-centre",item="tax-certificate",grant="g1"'
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": "days", "rules": [{"record": "days_left",
                                                                            "expr": days_left}]}]}))
    tests = tmp_path / "tests.yml"
    tests.write_text(yaml.safe_dump({
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [{"series": f"govbus_grant_expiry_timestamp_seconds{{{labels}}}",
                              "values": f"{10 * DAY}x1440"}],
            "promql_expr_test": [
                {"expr": "days_left", "eval_time": "0m", "exp_samples": [{"labels": f"days_left{{{labels}}}",
                                                                          "value": 10}]},
                {"expr": "days_left", "eval_time": "1d", "exp_samples": [{"labels": f"days_left{{{labels}}}",
                                                                          "value": 9}]},
            ],
        }],
    }))
    tested = _promtool("test", "rules", str(tests))
    assert tested.returncode == 0, tested.stdout + tested.stderr
