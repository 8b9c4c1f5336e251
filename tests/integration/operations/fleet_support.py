"""Every component that serves /metrics, running on the session broker and registry under a topic prefix of its
own, started once for the tests that read them (test_metric_conventions.py, test_prometheus_live.py; the
``running_fleet`` fixture of this directory's conftest.py).

What runs (:func:`launches`; how each is started and watched: conventions_support.py): each component
``govbus run`` starts, as its own process, the reference HTTP push, and the session's registry where it runs. A
record posted to the gateway, a row in the outbox and a few canonical events of an open item make their labelled
series appear (a webhook receiver that never answers: failed attempts, parked events, audit records for the
indexer); :meth:`FleetHolder.running` returns once every page shows them. The normaliser writes its source
heartbeats every half second and the exporter reads them every second with an hour's grace, so a test can make
a source silent by publishing an event with an old broker timestamp. Every process is stopped by PID
(:meth:`FleetHolder.stop`, which the conftest calls after the last test that uses the fleet).
"""

from __future__ import annotations

import json
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from conventions_support import (
    DEPARTMENT_ITEM,
    OPEN_ITEM,
    Fleet,
    Launch,
    canonical_events,
    platform_env,
    subscriptions,
    unique,
)

from connectors.ingest_gateway.keys import add_key
from connectors.outbox.migrate import migrate
from govbus.catalogue_topics import sync_topics
from govbus.commands.run import RUNNABLE
from govbus.demo.synthetic import enterprise_registrations
from govbus.platform.postgres import session_postgres
from govbus.platform.processes import free_port
from govbus.sharing.store import SharingStore
from govbus.topic_names import canonical_topic
from schemas.catalogue import load_catalogue
from testsupport.connections import kafka_at

READY_SECONDS = 120.0
SOURCES_GRACE_SECONDS = "3600"
"""the exporter's grace beyond an item's update cycle: a real-time source silent for over an hour is silent"""


@dataclass(frozen=True)
class RunningFleet:
    """The started components (their pages as read once ready) and where they run."""

    fleet: Fleet
    bootstrap: str
    registry_url: str
    prefix: str

    def metrics_urls(self) -> dict[str, str]:
        """Component (= Prometheus job) name -> its /metrics URL."""
        return {launch.name: launch.metrics_url for launch in self.fleet.launches}


class FleetHolder:
    """Starts the fleet on first use, hands the same one to every later user until :meth:`stop`."""

    def __init__(self, bootstrap: str, registry_url: str, directory: Path) -> None:
        self._bootstrap = bootstrap
        self._registry_url = registry_url
        self._directory = directory
        self._stack = ExitStack()
        self._running: RunningFleet | None = None
        self._failure: str | None = None

    def running(self) -> RunningFleet:
        if self._failure is not None:
            raise AssertionError(f"the components failed to start for an earlier test: {self._failure}")
        if self._running is None:
            try:
                self._running = self._start()
            except BaseException as error:
                self._failure = f"{type(error).__name__}: {error}"
                self.stop()
                raise
        return self._running

    def stop(self) -> None:
        """Stop every process by PID (asserting none outlives SIGKILL) and drop the databases; a no-op when
        nothing runs."""
        self._running = None
        stack, self._stack = self._stack, ExitStack()
        stack.close()

    def _start(self) -> RunningFleet:
        prefix = f"govbus.m-{uuid.uuid4().hex[:10]}"
        env = platform_env(self._bootstrap, self._registry_url, prefix)
        catalogue = load_catalogue()
        sync_topics(kafka_at(self._bootstrap), [catalogue.get(OPEN_ITEM), catalogue.get(DEPARTMENT_ITEM)], prefix, 1)
        store = SharingStore(kafka_at(self._bootstrap), prefix)
        for subscription in subscriptions():
            store.put_subscription(subscription)
        postgres = self._stack.enter_context(session_postgres())
        dsns = {name: self._stack.enter_context(postgres.database(f"metrics_{name}"))
                for name in ("outbox", "mirror", "audit")}
        with psycopg.connect(dsns["outbox"], autocommit=True) as conn:
            migrate(conn)
        directory = self._directory / prefix
        fleet = Fleet(directory, launches(env, directory, dsns, self._registry_url))
        self._stack.callback(fleet.stop)
        fleet.start()
        canonical_events(self._bootstrap, self._registry_url, prefix)
        fleet.wait_ready(READY_SECONDS)
        return RunningFleet(fleet, self._bootstrap, self._registry_url, prefix)


def _http(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def _post_record(url: str, key: str) -> None:
    record = json.loads(json.dumps(enterprise_registrations(1, 0.0, seed=7)[0].record, default=str))
    response = httpx.post(f"{url}/v1/items/{DEPARTMENT_ITEM}/records", json=record, timeout=30,
                          headers={"Authorization": f"Bearer {key}", "X-Source-System": "metrics-test"})
    assert response.status_code == 202, response.text


def _get(url: str) -> None:
    assert httpx.get(url, timeout=30).status_code == 200


def _outbox_row(dsn: str) -> None:
    record = json.loads(json.dumps(enterprise_registrations(1, 0.0, seed=8)[0].record, default=str))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO govbus_outbox (data_item, record_key, record) VALUES (%s, %s, %s)",
                     (DEPARTMENT_ITEM, record["uscc"], json.dumps(record, ensure_ascii=False)))


def launches(env: dict[str, str], tmp_path: Path, dsns: dict[str, str], registry_url: str) -> list[Launch]:
    """Each component with its settings, the traffic that makes its labelled series appear and the line that
    shows it did."""
    ports = {name: free_port() for name in (*RUNNABLE, "push")}
    tmp_path.mkdir(parents=True, exist_ok=True)
    keys_file = tmp_path / "gateway-keys.json"
    key = add_key(keys_file, "market-regulation", "metrics-test")
    streams = {"GOVBUS_STREAMS_COMMIT_INTERVAL": "0.2", "GOVBUS_STREAMS_SESSION_TIMEOUT_MS": "6000"}

    def launch(name: str, ready: str, extra: dict[str, str], args: list[str] | None = None,
               metrics: str | None = None) -> Launch:
        return Launch(name, args or ["run", name], {**env, **extra}, metrics or f"{_http(ports[name])}/metrics", ready)

    gateway = launch("gateway", r"^govbus_gateway_records_total\{", {
        "GOVBUS_GATEWAY_PORT": str(ports["gateway"]), "GOVBUS_GATEWAY_KEYS_FILE": str(keys_file)})
    gateway.poke = lambda: _post_record(_http(ports["gateway"]), key)
    feed = launch("feed", r'^govbus_feed_requests_total\{route="/feed"', {
        "GOVBUS_FEED_PORT": str(ports["feed"]), "GOVBUS_FEED_ITEMS": OPEN_ITEM})
    feed.poke = lambda: _get(f"{_http(ports['feed'])}/feed")
    outbox = launch("outbox", r"^govbus_outbox_rows_published_total\{.*\} [1-9]", {
        "GOVBUS_OUTBOX_DSN": dsns["outbox"], "GOVBUS_OUTBOX_DEPARTMENT": "market-regulation",
        "GOVBUS_OUTBOX_POLL_INTERVAL": "0.1", "GOVBUS_OUTBOX_METRICS_PORT": str(ports["outbox"])})
    outbox.poke = lambda: _outbox_row(dsns["outbox"])
    return [
        Launch("registry", None, env, f"{registry_url}/metrics", r"^govbus_registry_requests_total\{"),
        gateway, feed, outbox,
        launch("normaliser", r"^govbus_normaliser_records_canonical_total\{", {
            **streams, "GOVBUS_NORMALISER_METRICS_PORT": str(ports["normaliser"]),
            "GOVBUS_NORMALISER_ITEMS": DEPARTMENT_ITEM, "GOVBUS_NORMALISER_APP_ID": unique("metrics-normaliser"),
            "GOVBUS_NORMALISER_PARTITIONS": "1", "GOVBUS_STREAMS_STATE_DIR": str(tmp_path / "normaliser-state"),
            "GOVBUS_NORMALISER_SOURCES_INTERVAL_SECONDS": "0.5"}),
        launch("profiles", r"^govbus_profile_(rekeyed|rekey_skipped)_total\{", {
            **streams, "GOVBUS_PROFILES_METRICS_PORT": str(ports["profiles"]),
            "GOVBUS_PROFILES_APP_ID": unique("metrics-profiles"), "GOVBUS_PROFILES_PARTITIONS": "1",
            "GOVBUS_STREAMS_STATE_DIR": str(tmp_path / "profiles-state")}),
        launch("webhook", r"^govbus_webhook_failed_attempts_total\{", {
            "GOVBUS_WEBHOOK_METRICS_PORT": str(ports["webhook"]), "GOVBUS_WEBHOOK_MAX_ATTEMPTS": "2",
            "GOVBUS_WEBHOOK_RETRY_INITIAL_SECONDS": "0.05", "GOVBUS_WEBHOOK_RETRY_MAX_SECONDS": "0.1",
            "GOVBUS_WEBHOOK_RETRY_JITTER_SECONDS": "0", "GOVBUS_WEBHOOK_REQUEST_TIMEOUT_SECONDS": "1"},
               args=["run", "webhook", "metrics-webhook"]),
        launch("kafka-delivery", r"^govbus_kafka_delivery_delivered_total\{", {
            "GOVBUS_KAFKA_DELIVERY_METRICS_PORT": str(ports["kafka-delivery"])},
               args=["run", "kafka-delivery", "metrics-kafka"]),
        launch("mirror", r"^govbus_mirror_rows_upserted_total\{", {
            "GOVBUS_MIRROR_ITEM": OPEN_ITEM, "GOVBUS_MIRROR_DSN": dsns["mirror"], "GOVBUS_MIRROR_LAG_INTERVAL": "1",
            "GOVBUS_MIRROR_METRICS_PORT": str(ports["mirror"])}),
        launch("acl", r"^govbus_acl_last_sync_timestamp_seconds [1-9]", {
            "GOVBUS_ACL_METRICS_PORT": str(ports["acl"]), "GOVBUS_ACL_INTERVAL": "1"}),
        launch("audit-indexer", r"^govbus_audit_index_records_total [1-9]", {
            "GOVBUS_AUDIT_INDEX_DSN": dsns["audit"], "GOVBUS_AUDIT_INDEX_BATCH_WAIT": "0.05",
            "GOVBUS_AUDIT_INDEX_METRICS_PORT": str(ports["audit-indexer"])}),
        launch("exporter", r'^govbus_subscription_lag_events\{subscription="metrics-webhook"\}', {
            "GOVBUS_EXPORTER_METRICS_PORT": str(ports["exporter"]), "GOVBUS_EXPORTER_REFRESH_SECONDS": "1",
            "GOVBUS_SOURCES_GRACE_SECONDS": SOURCES_GRACE_SECONDS}),
        launch("console", r"^govbus_console_samples_total [1-9]", {
            "GOVBUS_CONSOLE_PORT": str(ports["console"]), "GOVBUS_CONSOLE_SAMPLE_SECONDS": "0.5"}),
        launch("push", r"^govbus_push_failed_attempts_total\{", {
            "GOVBUS_PUSH_TOPIC": canonical_topic(OPEN_ITEM, env["GOVBUS_TOPIC_PREFIX"]),
            "GOVBUS_PUSH_URL": "http://127.0.0.1:9/events", "GOVBUS_PUSH_GROUP": unique("metrics-push"),
            "GOVBUS_PUSH_METRICS_PORT": str(ports["push"]), "GOVBUS_PUSH_RETRY_MAX_SECONDS": "0.2"},
               args=["subscriptions", "push"]),
    ]
