"""deploy/ holds what the tools that read it accept, without a warning: Prometheus's configuration and alert rules
(``promtool check config``, ``promtool check rules``), the rules' unit tests (``promtool test rules``, one case
firing and one not for every alert), and Alertmanager's configuration (``amtool check-config``, and its routes by
severity). promtool and amtool come from Debian's ``prometheus`` and ``prometheus-alertmanager`` packages,
installed on demand (:mod:`govbus.platform.debian`; about 12 s when missing). Prometheus scrapes every component
``govbus run`` starts, at the port docker-compose.yml gives it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from govbus.commands.run import RUNNABLE
from govbus.platform.debian import ensure_tool

ROOT = Path(__file__).resolve().parents[3]
PROMETHEUS = ROOT / "deploy" / "prometheus"
CONFIG = PROMETHEUS / "prometheus.yml"
RULES = sorted((PROMETHEUS / "rules").glob("*.rules.yml"))
RULE_TESTS = sorted((PROMETHEUS / "rules").glob("*.test.yml"))
ALERTMANAGER = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
COMPOSE = ROOT / "docker-compose.yml"
SCRAPED_BESIDES_RUNNABLE = {"push"}
"""components with /metrics that ``govbus run`` does not start (``govbus subscriptions push``)"""


@pytest.fixture(scope="module")
def promtool() -> Path:
    return ensure_tool("promtool", package="prometheus")


@pytest.fixture(scope="module")
def amtool() -> Path:
    return ensure_tool("amtool", package="prometheus-alertmanager")


def _clean(argv: list[str | Path]) -> str:
    """Run a checker: it must succeed and warn of nothing; its standard output."""
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=120, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "warn" not in output.lower(), output
    return done.stdout


def test_prometheus_config_and_rules_pass_promtool(promtool: Path) -> None:
    out = _clean([promtool, "check", "config", CONFIG])
    assert f"{len(RULES)} rule files found" in out, "prometheus.yml loads every rules file"
    out = _clean([promtool, "check", "rules", *RULES])
    assert out.count("SUCCESS") == len(RULES)


def test_the_rules_unit_tests_pass(promtool: Path) -> None:
    assert RULE_TESTS, "deploy/prometheus/rules/*.test.yml"
    out = _clean([promtool, "test", "rules", *RULE_TESTS])
    assert out.count("SUCCESS") == len(RULE_TESTS)


def _alerts() -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for path in RULES for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"] if "alert" in rule}


def test_every_alert_has_a_severity_a_summary_and_a_description_and_is_tested_firing_and_not() -> None:
    alerts = _alerts()
    assert len(alerts) >= 14
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert {"summary", "description"} <= set(rule["annotations"]), name
    assert set(alerts) - firing == set(), "alerts no test sees firing"
    assert set(alerts) - quiet == set(), "alerts no test sees quiet"


def test_the_alertmanager_config_passes_amtool_and_routes_by_severity(amtool: Path) -> None:
    out = _clean([amtool, "check-config", ALERTMANAGER])
    assert "SUCCESS" in out
    for severity, receiver in (("critical", "govbus-critical"), ("warning", "govbus-warning")):
        routed = subprocess.run([str(amtool), "config", "routes", "test", f"--config.file={ALERTMANAGER}",
                                 f"--verify.receivers={receiver}", "alertname=GovbusAny", f"severity={severity}"],
                                capture_output=True, text=True, timeout=60, check=False)
        assert routed.returncode == 0, routed.stdout + routed.stderr


def _targets() -> dict[str, list[str]]:
    config = yaml.safe_load(CONFIG.read_text())
    return {job["job_name"]: [t for static in job["static_configs"] for t in static["targets"]]
            for job in config["scrape_configs"]}


def _compose_ports(service: dict[str, Any]) -> set[int]:
    """The ports a compose service's component listens on: its *_PORT variables and its published ports."""
    environment = service.get("environment", {})
    ports = {int(value) for name, value in environment.items() if name.endswith("_PORT")}
    return ports | {int(str(mapping).rsplit(":", 1)[-1]) for mapping in service.get("ports", [])}


def test_prometheus_scrapes_every_component_at_its_compose_port() -> None:
    targets = _targets()
    assert set(RUNNABLE) | SCRAPED_BESIDES_RUNNABLE <= set(targets), "a component Prometheus does not scrape"
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    for job, addresses in targets.items():
        [address] = addresses
        host, port = address.split(":")
        assert host == job, f"job {job} scrapes the compose service of its own name"
        assert int(port) in _compose_ports(services[job]), f"{job}: port {port} is not the one compose gives it"
    header = CONFIG.read_text().split("\nglobal:")[0]
    for job, [address] in targets.items():
        assert re.search(rf"^#\s+{re.escape(job)}\s.*{re.escape(address)}$", header, re.MULTILINE), \
            f"prometheus.yml's header documents job {job} at {address}"
