"""``govbus status --json`` and ``govbus run console`` end to end, as the operator principal, on the session broker
and registry under a topic prefix of the test's own.

The bus is made to need attention without waiting: a department publishes to its topic; canonical events wait for
a subscription whose connector never ran (its lag); the sources topic holds a normaliser's watcher record and a
source whose last event is three days old (a daily item: silent beyond a day and the one-hour grace); a grant
expires in two days; of three dead letters, one is from the last hour. ``govbus status --json`` (a process)
exits 1 and says so. The console (a process, stopped by PID) samples every 0.5 s; more canonical events arrive
between two samples, and headless Chromium loads the page: the lag chart's line rises from its first point to its
last, the silent source is listed with its Chinese title, and a screenshot is saved.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from govbus import clients
from govbus.catalogue_topics import sync_topics
from govbus.connection import KafkaConnection
from govbus.demo.synthetic_items import records_for
from govbus.last_events import LastEvent, Watcher, encode, read_last_events
from govbus.platform import processes
from govbus.platform.debian import ensure_tool
from govbus.ports import free_port
from govbus.publisher import Publisher, PublisherSettings
from govbus.sharing import principals
from govbus.sharing.model import Grant, Subscription
from govbus.sharing.processor_access import operator_acls, operator_user
from govbus.sharing.store import SharingStore
from govbus.topic_names import canonical_topic, dead_letter_topic, department_topic, sources_topic
from govbus.topics import ensure_topics
from schemas.catalogue import load_catalogue
from streams.normalising.topics import sources_topic_spec
from testsupport.canonical import CanonicalWriter, Step
from testsupport.connections import kafka_at, registry_at

ITEM, DEPARTMENT, SYSTEM = "credit_record", "credit", "credit-publicity"
TITLE = "行政许可和行政处罚信用信息"
SUBSCRIPTION = "status-hook"
GOVBUS = [sys.executable, "-m", "govbus.cli"]
CHROMIUM_SECONDS = 60


@dataclass(frozen=True)
class Bus:
    prefix: str
    admin: KafkaConnection
    operator: KafkaConnection
    registry_url: str

    def env(self, home: Path) -> dict[str, str]:
        """The status and the console as the operator (the registry as the session's administrator: the test
        registry knows no other user), with no platform state of their own."""
        return {**self.operator.as_env(), "GOVBUS_REGISTRY__URL": self.registry_url, "GOVBUS_TOPIC_PREFIX": self.prefix,
                "GOVBUS_SOURCES_GRACE_SECONDS": "3600", "GOVBUS_STATUS_DEV_PLATFORM": "false",
                "GOVBUS_HOME": str(home), "GOVBUS_LOG_LEVEL": "INFO"}


def _wait(condition: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = condition()
        except Exception:  # the operator's ACLs on their way to the authorizer, a console not listening yet
            found = None
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture
def bus(kafka_bootstrap: str, registry_url: str) -> Bus:
    admin = kafka_at(kafka_bootstrap)
    prefix = f"govbus.st-{uuid.uuid4().hex[:8]}"
    password = secrets.token_urlsafe(18)
    principals.provision(admin, {operator_user(): password}, operator_acls(prefix))
    bus = Bus(prefix, admin, admin.with_credentials(operator_user(), password), registry_url)
    item = load_catalogue().get(ITEM)
    sync_topics(admin, [item], prefix, partitions=1)
    ensure_topics(admin, [sources_topic_spec(prefix)])
    store = SharingStore(admin, prefix)
    store.put_subscription(Subscription.model_validate({
        "name": SUBSCRIPTION, "subscriber": "status-centre",
        "items": [{"item": ITEM, "fields": ["decision_number", "decision_kind"]}],
        "delivery": {"kind": "webhook", "url": "http://127.0.0.1:9/never", "secret_env": "GOVBUS_TEST_UNUSED"}}))
    store.put_grant(Grant(grant_id="status-soon", subscriber="status-centre", item=ITEM, approved_by=DEPARTMENT,
                          purpose="licensing checks", fields=["decision_number", "subject_name"],
                          expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=2)))
    return bus


def publish(bus: Bus, count: int) -> None:
    """``count`` events of the department (its topic) through the publisher."""
    settings = PublisherSettings(kafka=bus.admin, registry=registry_at(bus.registry_url), topic_prefix=bus.prefix)
    with Publisher(DEPARTMENT, SYSTEM, settings=settings) as publisher:
        publisher.publish_many(ITEM, [s.record for s in records_for(load_catalogue().get(ITEM), count, seed=5)])
        assert publisher.flush().failed == 0


def canonical(bus: Bus, count: int, seed: int) -> None:
    """``count`` canonical events, as the normaliser would write them: the subscription's connector never reads."""
    item = load_catalogue().get(ITEM)
    writer = CanonicalWriter(bus.admin.bootstrap, bus.registry_url, item, canonical_topic(ITEM, bus.prefix))
    writer.write([Step("UPSERT", item.key_of(s.record), s.record) for s in records_for(item, count, seed=seed)])


def silent_source(bus: Bus) -> None:
    """A normaliser's watcher record (it reads the item) and the source's last event, three days ago."""
    now = dt.datetime.now(dt.UTC)
    old = now - dt.timedelta(days=3)
    producer = clients.producer(bus.admin)
    for record in (Watcher(watcher="normaliser-status", items=(ITEM,), started_at=now, seen_at=now),
                   LastEvent(department=DEPARTMENT, item=ITEM, source_system=SYSTEM, last_event_at=old,
                             last_seen_at=old, events=12)):
        key, value = encode(record)
        producer.produce(sources_topic(bus.prefix), value, key)
    assert producer.flush(15) == 0


def dead_letters(bus: Bus, ages: list[float]) -> None:
    """Records on the item's dead-letter topic with broker timestamps ``ages`` seconds old (never read back)."""
    producer = clients.producer(bus.admin)
    for age in ages:
        producer.produce(dead_letter_topic(ITEM, bus.prefix), b"x", timestamp=int((time.time() - age) * 1000))
    assert producer.flush(15) == 0


def status_json(bus: Bus, home: Path) -> tuple[int, dict[str, Any]]:
    done = subprocess.run([*GOVBUS, "status", "--json"], env={**os.environ, **bus.env(home)}, capture_output=True,
                          text=True, timeout=90)
    assert done.stdout, done.stderr
    parsed: dict[str, Any] = json.loads(done.stdout)
    return done.returncode, parsed


def test_status_reports_lag_a_silent_source_and_an_expiring_grant(bus: Bus, tmp_path: Path) -> None:
    publish(bus, 5)
    canonical(bus, 4, seed=1)
    silent_source(bus)
    dead_letters(bus, [7200, 7100, 30])
    _wait(lambda: read_last_events(bus.operator, bus.prefix).sources, "the operator's ACLs")

    code, status = status_json(bus, tmp_path)

    assert code == 1 and not status["healthy"], status["problems"]
    assert status["broker"]["reachable"] and status["registry"]["reachable"] and status["components"] == []
    [subscription] = status["subscriptions"]
    assert (subscription["name"], subscription["lag_events"]) == (SUBSCRIPTION, 4), "never ran: everything waits"
    assert subscription["group"] == f"{bus.prefix}.subscription.{SUBSCRIPTION}" and subscription["lag_seconds"] >= 0
    [source] = status["silent_sources"]
    assert (source["department"], source["item"], source["source_system"], source["item_title"]) == (
        DEPARTMENT, ITEM, SYSTEM, TITLE)
    assert 3 * 86_400 - 60 < source["silent_for_seconds"] < 3 * 86_400 + 600
    assert [s["system"] for s in status["silent_systems"]] == [SYSTEM]
    assert [g["grant"] for g in status["grants_expiring"]] == ["status-soon"]
    topics = {t["topic"]: t for t in status["topics"]}
    assert topics[department_topic(DEPARTMENT, ITEM, bus.prefix)]["last_hour"] == 5, "written within the hour"
    assert topics[canonical_topic(ITEM, bus.prefix)]["end_offset"] >= 4
    assert status["dead_letters_last_hour"] == 1 and status["offsets_read"], "the two older ones are not counted"
    assert f"1 dead letter in the last hour on {dead_letter_topic(ITEM, bus.prefix)}" in status["notes"]
    assert not any(p.startswith("could not read") for p in status["problems"]), "the operator may read it all"
    assert any(p.startswith(f"source {DEPARTMENT}/{ITEM}/{SYSTEM} is silent") for p in status["problems"])


class Polylines(HTMLParser):
    """The polylines of one chart (``<svg id=...>``) of a page: series name -> values."""

    def __init__(self, chart_id: str) -> None:
        super().__init__()
        self._chart_id, self._inside = chart_id, False
        self.series: dict[str, list[float]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "svg":
            self._inside = found.get("id") == self._chart_id
        elif tag == "polyline" and self._inside:
            self.series[found["data-series"] or ""] = [float(v) for v in (found["data-values"] or "").split()]

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._inside = False


@pytest.fixture
def start_console(bus: Bus, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Starts ``govbus run console`` sampling every 0.5 s and returns its URL; stops it by PID at the end."""
    started: list[int] = []
    log = tmp_path / "console.log"

    def start() -> str:
        port = free_port()
        env = {**bus.env(tmp_path), "GOVBUS_CONSOLE_PORT": str(port), "GOVBUS_CONSOLE_SAMPLE_SECONDS": "0.5"}
        started.append(processes.start_process([*GOVBUS, "run", "console"], log, env=env))
        return f"http://127.0.0.1:{port}/"

    yield start
    for pid in started:
        processes.stop_process(pid, timeout=15)
        assert not processes.is_alive(pid), log.read_text(errors="replace")[-3000:]


def lag_samples(url: str) -> list[int]:
    samples = httpx.get(f"{url}history.json", timeout=5).json()["samples"]
    return [sample["lag"][SUBSCRIPTION] for sample in samples if SUBSCRIPTION in sample["lag"]]


def chromium(args: list[str], profile: Path) -> str:
    """Run headless Chromium (in a session of its own, killed whole if it overruns); its stdout."""
    program = ensure_tool("chromium", package="chromium")
    started = subprocess.Popen([str(program), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                f"--user-data-dir={profile}", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        out, _ = started.communicate(timeout=CHROMIUM_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(started.pid, signal.SIGKILL)
        started.communicate()
        raise
    assert started.returncode == 0, f"chromium exited {started.returncode}"
    return out


def test_the_console_page_shows_growing_lag_and_a_silent_source(bus: Bus, start_console: Callable[[], str],
                                                                tmp_path: Path) -> None:
    canonical(bus, 4, seed=1)
    silent_source(bus)
    console = start_console()
    assert _wait(lambda: lag_samples(console), "the console's first sample", timeout=60)[0] == 4
    canonical(bus, 3, seed=2)
    _wait(lambda: lag_samples(console)[-1] == 7, "a sample after more events")

    page = chromium(["--dump-dom", console], tmp_path / "profile")

    lines = Polylines("chart-lag")
    lines.feed(page)
    values = lines.series[SUBSCRIPTION]
    assert values[0] == 4 and values[-1] == 7 and values[-1] > values[0], values
    assert 'id="silent-sources"' in page and SYSTEM in page and TITLE in page, "UTF-8 names survive the page"
    assert 'id="chart-throughput"' in page and 'id="chart-dead-letters"' in page
    served = httpx.get(f"{console}status.json", timeout=5).json()
    assert [s["source_system"] for s in served["silent_sources"]] == [SYSTEM] and not served["healthy"]

    shot = tmp_path / "console.png"
    chromium([f"--screenshot={shot}", "--window-size=1280,1600", console], tmp_path / "profile")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
