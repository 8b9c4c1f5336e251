"""The Grafana dashboards (issue #12): the committed JSON is what the generator writes (nobody edits it by hand),
every query names only metrics the code declares (as prometheus_client exposes them), and each dashboard shows
what the issue asks of it (tests/integration/operations/test_dashboard_queries.py has promtool parse them)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.grafana import generate

ROOT = Path(__file__).resolve().parents[2]
CODE = ("govbus", "schemas", "streams", "connectors", "consumers")
METRIC = re.compile(r"\bgovbus_[a-z0-9_]+\b")

REQUIRED = {
    "govbus-throughput": {"govbus_topic_end_offset", "govbus_publisher_records_published_total",
                          "govbus_gateway_records_total", "govbus_outbox_rows_published_total",
                          "govbus_normaliser_records_processed_total", "govbus_normaliser_records_canonical_total",
                          "govbus_normaliser_records_rejected_total"},
    "govbus-lag": {"govbus_subscription_lag_events", "govbus_subscription_lag_seconds", "govbus_group_lag_events",
                   "govbus_group_lag_seconds", "govbus_exporter_last_refresh_timestamp_seconds"},
    "govbus-dead-letters": {"govbus_topic_end_offset", "govbus_normaliser_records_rejected_total"},
    "govbus-silence": {"govbus_source_silent", "govbus_source_silent_seconds", "govbus_system_silent",
                       "govbus_system_never_published", "govbus_subscription_silent"},
    "govbus-grants": {"govbus_grant_expiry_timestamp_seconds"},
    "govbus-latency": set(),  # every histogram of the code: see its own test
}
"""the metrics each dashboard must query (issue #12 point 6)"""

_KINDS = "Counter|Gauge|Histogram|Summary"
_LITERAL = re.compile(rf"\b({_KINDS})(?:MetricFamily)?\(\s*\"(govbus_[a-z0-9_]+)\"")
_PREFIXED = re.compile(rf"\b({_KINDS})\(\s*f\"\{{prefix\}}(_[a-z0-9_]+)\"")
_PREFIX = re.compile(r"__init__\([^)]*\"(govbus_[a-z0-9_]+)\"")


def _sources() -> Iterator[str]:
    for package in CODE:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path.read_text(encoding="utf-8")


def _declared() -> set[tuple[str, str]]:
    """(kind, name) of every metric the code declares: literal names, and the ``f"{prefix}_..."`` names of the
    shared delivery metrics under each prefix a connector passes to them."""
    sources = list(_sources())
    prefixes = {prefix for text in sources for prefix in _PREFIX.findall(text)}
    declared = {pair for text in sources for pair in _LITERAL.findall(text)}
    return declared | {(kind, prefix + suffix) for text in sources for kind, suffix in _PREFIXED.findall(text)
                       for prefix in prefixes}


def _exposed(kind: str, name: str) -> set[str]:
    """The series names prometheus_client serves for a metric (a Counter's name gets ``_total``)."""
    if kind == "Counter":
        return {name.removesuffix("_total") + "_total"}
    if kind == "Histogram":
        return {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    if kind == "Summary":
        return {name, f"{name}_sum", f"{name}_count"}
    return {name}


@pytest.fixture(scope="module")
def declared() -> set[tuple[str, str]]:
    found = _declared()
    assert len(found) > 40 and ("Histogram", "govbus_webhook_end_to_end_seconds") in found, "the scan finds no metric"
    return found


@pytest.fixture(scope="module")
def boards() -> dict[str, dict[str, Any]]:
    return {name.removesuffix(".json"): json.loads(text) for name, text in generate.rendered().items()}


def _panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [panel for panel in board["panels"] if panel["type"] != "row"]


def _exprs(board: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in _panels(board) for target in panel["targets"]]


def test_the_committed_dashboards_are_what_the_generator_writes() -> None:
    assert generate.differences() == [], "run `python -m deploy.grafana.generate` (do not edit the JSON by hand)"


def test_the_check_sees_a_hand_edited_a_stale_and_a_missing_file(tmp_path: Path) -> None:
    generate.write(tmp_path)
    assert generate.differences(tmp_path) == []
    edited = tmp_path / "govbus-lag.json"
    edited.write_text(edited.read_text().replace("Subscription lag", "Lag"))
    (tmp_path / "govbus-grants.json").unlink()
    (tmp_path / "old.json").write_text("{}")
    assert generate.differences(tmp_path) == ["missing: govbus-grants.json", "not generated (remove it): old.json",
                                              "differs from its definition: govbus-lag.json"]
    generate.write(tmp_path)
    assert generate.differences(tmp_path) == [] and not (tmp_path / "old.json").exists()


def test_every_query_names_only_metrics_govbus_exposes(boards: dict[str, dict[str, Any]],
                                                       declared: set[tuple[str, str]]) -> None:
    exposed = set().union(*(_exposed(kind, name) for kind, name in declared))
    for uid, board in boards.items():
        for expr in _exprs(board):
            unknown = set(METRIC.findall(expr)) - exposed
            assert not unknown, f"{uid}: {expr} names {sorted(unknown)}, which no code exposes"


@pytest.mark.parametrize("uid", sorted(REQUIRED))
def test_each_dashboard_queries_what_issue_12_asks(boards: dict[str, dict[str, Any]], uid: str) -> None:
    named = {metric for expr in _exprs(boards[uid]) for metric in METRIC.findall(expr)}
    assert REQUIRED[uid] <= named, f"{uid} does not query {sorted(REQUIRED[uid] - named)}"


def test_every_histogram_has_its_p50_p95_and_p99_on_the_latency_dashboard(boards: dict[str, dict[str, Any]],
                                                                          declared: set[tuple[str, str]]) -> None:
    exprs = _exprs(boards["govbus-latency"])
    histograms = {name for kind, name in declared if kind == "Histogram"}
    assert {"govbus_webhook_end_to_end_seconds", "govbus_kafka_delivery_end_to_end_seconds"} <= histograms
    for name in sorted(histograms):
        for quantile in ("0.5", "0.95", "0.99"):
            assert any(expr.startswith(f"histogram_quantile({quantile}, ") and f"{name}_bucket[" in expr
                       for expr in exprs), f"no p{quantile} of {name} on the latency dashboard"


def test_dead_letters_parked_and_grants_read_as_the_issue_says(boards: dict[str, dict[str, Any]]) -> None:
    dead = _exprs(boards["govbus-dead-letters"])
    for kind in ("dead-letter", "parked"):
        assert any(f'govbus_topic_end_offset{{kind="{kind}"}}' in expr and "rate(" in expr for expr in dead), kind
    grants = _exprs(boards["govbus-grants"])
    assert "(govbus_grant_expiry_timestamp_seconds - time()) / 86400" in grants, "days left per grant"
    silence = _panels(boards["govbus-silence"])
    assert {panel["type"] for panel in silence} >= {"stat", "table"}


def test_every_panel_reads_the_datasource_variable_and_has_unique_ids(boards: dict[str, dict[str, Any]]) -> None:
    for uid, board in boards.items():
        assert [v["name"] for v in board["templating"]["list"]] == ["datasource"]
        ids = [panel["id"] for panel in board["panels"]]
        assert len(set(ids)) == len(ids) and 0 not in ids, f"{uid}: panel ids {ids}"
        for panel in _panels(board):
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, f"{uid}: {panel['title']}"
            assert [t["refId"] for t in panel["targets"]] == list("ABCDEFGHIJ"[:len(panel["targets"])])


def test_grafana_provisions_the_prometheus_of_compose_and_the_generated_folder() -> None:
    provisioning = ROOT / "deploy/grafana/provisioning"
    [source] = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090" and source["isDefault"]
    scraped = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())["global"]["scrape_interval"]
    assert source["jsonData"]["timeInterval"] == scraped, "$__rate_interval is sized from the scrape interval"
    [provider] = yaml.safe_load((provisioning / "dashboards/govbus.yml").read_text())["providers"]
    grafana = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["grafana"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in grafana["volumes"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert provider["allowUiUpdates"] is False, "the dashboards are generated: no edit in Grafana's UI"
