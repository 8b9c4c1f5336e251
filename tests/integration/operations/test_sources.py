"""Silent sources and systems end to end: the real normaliser (a subprocess, stopped by PID) writes its source
heartbeats to ``<prefix>.sources``; ``govbus sources silent --json``, ``govbus systems list --json`` and the
exporter's collector judge them against the catalogue and the register.

Which time counts is the broker record's timestamp (:mod:`govbus.last_events`), so the test makes one source
silent without waiting: its events go in with a timestamp two days old (as a system whose last events were
queued long ago would leave them), while another system publishes now. With a one-hour grace the real-time item's
first source is silent and the second is not, whatever the machine's speed; a declared system that never published
is found; a source nobody declared is listed as undeclared.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from govbus import clients
from govbus.cli import main
from govbus.demo.dialect_samples import change_event, samples
from govbus.last_events import LastEvents, read_last_events
from govbus.operations.source_collector import SourceCollector
from govbus.operations.sources import SourcesSettings
from govbus.platform.components import Component, start_component
from govbus.serde import WireEncoder
from govbus.topic_names import canonical_topic, value_subject
from govbus.topic_reader import read_topic
from streams.dialects import get_dialect
from streams.normalising.settings import NormaliserSettings
from streams.normalising.topics import ensure_normaliser_topics
from testsupport.connections import kafka_at, registry_at

ITEM = "enterprise_registration"
DEPARTMENT = "market-regulation"
TWO_DAYS = 2 * 86_400
GRACE = "3600"


@pytest.fixture
def settings(kafka_bootstrap: str, registry_url: str) -> NormaliserSettings:
    suffix = uuid.uuid4().hex[:8]
    return NormaliserSettings(kafka=kafka_at(kafka_bootstrap), registry=registry_at(registry_url),
                              topic_prefix=f"govbus.test-{suffix}", normaliser_app_id=f"normaliser-{suffix}",
                              normaliser_partitions=1, normaliser_items=(ITEM,),
                              normaliser_sources_interval_seconds=0.5)


Start = Callable[[str], Component]


@pytest.fixture
def start_normaliser(settings: NormaliserSettings, tmp_path: Path) -> Iterator[Start]:
    """Starts the normaliser with a heartbeat interval (seconds, as text); stops it by PID at the end."""
    started: list[Component] = []

    def start(interval: str) -> Component:
        env = {"GOVBUS_KAFKA__BOOTSTRAP": settings.kafka.bootstrap, "GOVBUS_REGISTRY__URL": settings.registry.url,
               "GOVBUS_TOPIC_PREFIX": settings.topic_prefix, "GOVBUS_NORMALISER_APP_ID": settings.normaliser_app_id,
               "GOVBUS_NORMALISER_ITEMS": ITEM, "GOVBUS_NORMALISER_PARTITIONS": "1",
               "GOVBUS_NORMALISER_SOURCES_INTERVAL_SECONDS": interval,
               "GOVBUS_STREAMS_STATE_DIR": str(tmp_path / "state"), "GOVBUS_LOG_LEVEL": "INFO"}
        started.append(start_component("normaliser", "streams.normaliser", env, tmp_path / "normaliser.log"))
        return started[-1]

    yield start
    for component in started:
        component.stop(timeout=20)
        assert not component.alive()


def publish(settings: NormaliserSettings, dialect_name: str, source_system: str, count: int,
            timestamp_ms: int | None = None) -> None:
    """``count`` valid events of ``dialect_name`` from ``source_system``, with the given broker timestamp."""
    dialect = get_dialect(ITEM, dialect_name)
    topic = dialect.topic(settings.topic_prefix)
    encoder = WireEncoder(clients.registry_client(settings.registry), value_subject(topic), dialect.event_schema())
    producer = clients.producer(settings.kafka)
    rng = random.Random(source_system)
    errors: list[Any] = []
    for sample in samples(ITEM, dialect_name, count, bad_share=0, seed=len(source_system)):
        event = {**change_event(sample, DEPARTMENT, rng), "source_system": source_system}
        extra = {"timestamp": timestamp_ms} if timestamp_ms is not None else {}
        producer.produce(topic, encoder.encode(event), sample.key.encode(),
                         on_delivery=lambda error, _m: errors.append(error) if error else None, **extra)
    assert producer.flush(30) == 0 and not errors, errors


def wait_for_sources(settings: NormaliserSettings, wanted: dict[str, int], component: Component) -> LastEvents:
    """Read the sources topic until each source system in ``wanted`` shows that many events."""
    deadline = time.monotonic() + 60
    seen: dict[str, int] = {}
    while time.monotonic() < deadline:
        assert component.alive(), component.log_path.read_text(errors="replace")[-3000:]
        last = read_last_events(settings.kafka, settings.topic_prefix)
        seen = {source.source_system: source.events for source in last.sources.values()}
        if all(seen.get(name, 0) >= count for name, count in wanted.items()) and last.watchers:
            return last
        time.sleep(0.25)
    raise AssertionError(f"heartbeats did not arrive: wanted {wanted}, seen {seen}")


def govbus_json(settings: NormaliserSettings, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, list(args), env={"GOVBUS_KAFKA__BOOTSTRAP": settings.kafka.bootstrap,
                                                       "GOVBUS_TOPIC_PREFIX": settings.topic_prefix,
                                                       "GOVBUS_SOURCES_GRACE_SECONDS": GRACE})
    assert result.exit_code == 0, result.output
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_a_source_silent_beyond_its_cycle_and_a_declared_system_that_never_published(
        settings: NormaliserSettings, start_normaliser: Start) -> None:
    ensure_normaliser_topics(settings)
    normaliser = start_normaliser("0.5")
    long_ago = int((time.time() - TWO_DAYS) * 1000)
    publish(settings, "zhejiang-aic-v2", "zhejiang-aic-v2", 4, timestamp_ms=long_ago)
    publish(settings, "canonical", "registration-db", 3)
    publish(settings, "canonical", "bulk-load", 2)  # a source nobody declared
    wait_for_sources(settings, {"zhejiang-aic-v2": 4, "registration-db": 3, "bulk-load": 2}, normaliser)

    silent = govbus_json(settings, "sources", "silent", "--json")
    assert silent["grace_seconds"] == 3600 and silent["warnings"] == [] and silent["sources"] == 3
    [zhejiang] = silent["silent"]
    assert (zhejiang["department"], zhejiang["item"], zhejiang["source_system"]) == (DEPARTMENT, ITEM,
                                                                                      "zhejiang-aic-v2")
    assert TWO_DAYS - 5 < zhejiang["silent_for_seconds"] < TWO_DAYS + 600, "silent since its broker timestamp"
    assert zhejiang["update_cycle"] == "real_time" and zhejiang["events"] == 4 and zhejiang["declared"]
    assert silent["watchers"][0]["items"] == [ITEM]

    systems = {s["system"]: s for s in govbus_json(settings, "systems", "list", "--json")["systems"]}
    assert systems["aic-archive"]["never_published"] and systems["aic-archive"]["silent"], "declared, never came"
    assert systems["guangdong-scjg-v1"]["never_published"] and systems["guangdong-scjg-v1"]["silent"]
    assert systems["zhejiang-aic-v2"]["silent"] and not systems["zhejiang-aic-v2"]["never_published"]
    fresh = systems["registration-db"]
    assert not fresh["silent"] and not fresh["never_published"] and fresh["silent_for_seconds"] < 3600
    credit = systems["credit-publicity"]
    assert credit["never_published"] and not credit["watched"] and not credit["silent"], "no normaliser reads it"
    undeclared = govbus_json(settings, "systems", "list", "--json")["undeclared_sources"]
    assert [(s["source_system"], s["silent"]) for s in undeclared] == [("bulk-load", False)]

    collector = SourceCollector.from_settings(SourcesSettings(kafka=settings.kafka, topic_prefix=settings.topic_prefix,
                                                              sources_grace_seconds=3600))
    registry = CollectorRegistry()
    registry.register(collector)
    collector.refresh()
    samples_ = {(s.name, tuple(sorted(s.labels.items()))): s.value
                for f in text_string_to_metric_families(generate_latest(registry).decode()) for s in f.samples}

    def source(name: str, system: str) -> float:
        return samples_[(name, (("department", DEPARTMENT), ("item", ITEM), ("source_system", system)))]

    assert source("govbus_source_silent", "zhejiang-aic-v2") == 1 and source("govbus_source_silent",
                                                                                "registration-db") == 0
    assert abs(source("govbus_source_last_event_timestamp_seconds", "zhejiang-aic-v2") - long_ago / 1000) < 1
    system_labels = (("department", DEPARTMENT), ("system", "aic-archive"))
    assert samples_[("govbus_system_never_published", system_labels)] == 1
    assert samples_[("govbus_system_last_event_timestamp_seconds", system_labels)] == 0


def test_the_normaliser_writes_its_last_heartbeats_when_it_stops(settings: NormaliserSettings,
                                                                 start_normaliser: Start) -> None:
    """With an interval longer than the test, only the watcher record is written at start; the sources noted
    since are written when the worker stops (SIGTERM)."""
    ensure_normaliser_topics(settings)
    normaliser = start_normaliser("3600")
    assert wait_for_sources(settings, {}, normaliser).sources == {}
    publish(settings, "canonical", "registration-db", 2)
    canonical = canonical_topic(ITEM, settings.topic_prefix)
    deadline = time.monotonic() + 60
    while len(read_topic(settings.kafka, canonical)) < 2:
        assert time.monotonic() < deadline and normaliser.alive(), "the normaliser did not process the events"
        time.sleep(0.25)
    assert read_last_events(settings.kafka, settings.topic_prefix).sources == {}, "nothing before the interval"
    normaliser.stop(timeout=20)
    last = read_last_events(settings.kafka, settings.topic_prefix)
    [source] = last.sources.values()
    assert (source.source_system, source.events) == ("registration-db", 2)
    watcher = last.watchers[f"watcher/{settings.normaliser_app_id}"]
    assert watcher.items == (ITEM,) and watcher.started_at < watcher.seen_at <= dt.datetime.now(dt.UTC)
