"""A real Prometheus (Debian's ``prometheus``) with the shipped deploy/prometheus/prometheus.yml and its rules
scrapes every component that file names, running, and fires an alert the test provokes.

The components are the ``running_fleet`` of conftest.py (fleet_support.py: every component that serves /metrics
on the session broker and registry, shared with test_metric_conventions.py). Prometheus runs on a free port of
127.0.0.1 with the shipped configuration changed only where a test must (testsupport/prometheus.py
``local_config``): each job's target is its running component's 127.0.0.1 address, scrapes and rule evaluations
come every second, the Alertmanager section is dropped (none runs), and ``GovbusSourceSilent`` fires without its
five minutes' ``for`` (rewritten to 0s; the for-durations are covered by ``promtool test rules`` in
test_deploy_checks.py). Every other rule is the shipped one.

The provoked alert: one event from a source system of this test's own goes to market regulation's department
topic with a broker timestamp two days old (as a system whose last events were queued long ago would leave it;
test_sources.py does the same). The normaliser's heartbeat names the source, the exporter (an hour's grace)
sets ``govbus_source_silent`` 1 for it and 0 for the sources that publish now, and the alert fires for it alone.
The test reads Prometheus's HTTP API until every job is up with a ``govbus_*`` series and the alert fires (a
bounded wait; its failure says what was seen), and Prometheus is stopped by PID.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conventions_support import DEPARTMENT_ITEM
from fleet_support import RunningFleet

from govbus import clients
from govbus.demo.dialect_samples import change_event, samples
from govbus.serde import WireEncoder
from govbus.topic_names import value_subject
from schemas.catalogue import load_catalogue
from streams.dialects import get_dialect
from testsupport.connections import kafka_at, registry_at
from testsupport.prometheus import SHIPPED_CONFIG, Prometheus, local_config, running_prometheus

ALERT = "GovbusSourceSilent"
TWO_DAYS_MS = 2 * 86_400 * 1000
WAIT_SECONDS = 60.0


def _publish_long_ago(fleet: RunningFleet, source_system: str) -> dict[str, str]:
    """One valid event of the department item from ``source_system``, two days old by its broker timestamp; the
    labels of its source."""
    item = load_catalogue().get(DEPARTMENT_ITEM)
    dialect = get_dialect(DEPARTMENT_ITEM, "canonical")
    topic = dialect.topic(fleet.prefix)
    encoder = WireEncoder(clients.registry_client(registry_at(fleet.registry_url)), value_subject(topic),
                          dialect.event_schema())
    [sample] = samples(DEPARTMENT_ITEM, "canonical", 1, bad_share=0, seed=41)
    event = {**change_event(sample, item.department, random.Random(41)), "source_system": source_system}
    errors: list[Any] = []
    producer = clients.producer(kafka_at(fleet.bootstrap))
    producer.produce(topic, encoder.encode(event), sample.key.encode(), timestamp=int(time.time() * 1000) - TWO_DAYS_MS,
                     on_delivery=lambda error, _message: errors.append(error) if error else None)
    assert producer.flush(30) == 0 and not errors, errors
    return {"department": item.department, "item": DEPARTMENT_ITEM, "source_system": source_system}


@dataclass
class Seen:
    """What Prometheus reported at one read."""

    up: set[str]
    """jobs whose target is up"""
    with_series: dict[str, str]
    """job -> one of its govbus_* metrics"""
    silent_alerts: list[dict[str, Any]]
    """the GovbusSourceSilent alerts, pending or firing"""

    @classmethod
    def read(cls, prometheus: Prometheus) -> Seen:
        up = {sample["metric"]["job"] for sample in prometheus.query("up == 1")}
        series = {sample["metric"]["job"]: sample["metric"]["__name__"]
                  for sample in prometheus.query('group by (job, __name__) ({__name__=~"govbus_.+"})')}
        alerts = [alert for alert in prometheus.alerts() if alert["labels"].get("alertname") == ALERT]
        return cls(up, series, alerts)

    def complete(self, jobs: set[str], source: dict[str, str]) -> bool:
        return self.up >= jobs and set(self.with_series) >= jobs and _firing(self.silent_alerts, source)


def _firing(alerts: list[dict[str, Any]], source: dict[str, str]) -> bool:
    return any(alert["state"] == "firing" and source.items() <= alert["labels"].items() for alert in alerts)


def _wait(prometheus: Prometheus, jobs: set[str], source: dict[str, str]) -> Seen:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        seen = Seen.read(prometheus)
        if seen.complete(jobs, source) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if not seen.complete(jobs, source):
        targets = {target["labels"]["job"]: (target["health"], target["lastError"]) for target in prometheus.targets()
                   if target["labels"]["job"] not in seen.up}
        raise AssertionError(
            f"after {WAIT_SECONDS:.0f} s: jobs not up {sorted(jobs - seen.up)} (their targets: {targets}); jobs "
            f"without a govbus_* series {sorted(jobs - set(seen.with_series))}; wanted {ALERT} firing for {source}, "
            f"saw {[(a['state'], a['labels']) for a in seen.silent_alerts]}; "
            f"exporter's govbus_source_silent: {prometheus.query('govbus_source_silent')}")
    return seen


def test_prometheus_scrapes_every_component_and_fires_the_silent_source_alert(running_fleet: RunningFleet,
                                                                               tmp_path: Path) -> None:
    source = _publish_long_ago(running_fleet, f"prometheus-test-{uuid.uuid4().hex[:6]}")
    urls = running_fleet.metrics_urls()
    config = local_config(SHIPPED_CONFIG, urls, tmp_path, without_delay={ALERT})
    with running_prometheus(config, tmp_path) as prometheus:
        seen = _wait(prometheus, set(urls), source)
        fresh = prometheus.query('govbus_source_silent{source_system="metrics-test"} == 0')
    assert [alert["labels"]["source_system"] for alert in seen.silent_alerts] == [source["source_system"]], \
        "the provoked source alone is silent"
    [alert] = seen.silent_alerts
    assert alert["labels"]["severity"] == "warning" and alert["labels"]["job"] == "exporter"
    assert source["source_system"] in alert["annotations"]["summary"]
    assert fresh, "the gateway's source, publishing now, is not silent"
