"""The bus status assembled from what was read (no broker): lag per subscription and group, the last hour per
topic, silent sources, systems and subscriptions, expiring grants, health and its problems and notes; the
``GOVBUS_STATUS_TARGETS`` format and the local platform's components."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from govbus.commands.status import components
from govbus.connection import KafkaConnection
from govbus.last_events import LastEvent, LastEvents, Watcher, merge
from govbus.operations.idle import IdleTracker
from govbus.operations.lag import PartitionEnds
from govbus.operations.metrics import Reading
from govbus.operations.status import Check, ComponentStatus, Judgement, Reads, assemble, last_hour_count
from govbus.operations.status_settings import StatusSettings, Target, parse_targets
from govbus.operations.subscriptions import SubscriptionPositions
from govbus.settings import PlatformSettings
from govbus.sharing.model import Grant
from govbus.topic_names import canonical_topic, control_prefix, dead_letter_topic, department_topic, parked_topic
from schemas.catalogue import load_catalogue
from schemas.catalogue.register import load_register

NOW = dt.datetime(2026, 12, 5, 8, 0, tzinfo=dt.UTC).timestamp()
DAY = 86_400.0
ITEM, DEPARTMENT = "credit_record", "credit"
DEPT = department_topic(DEPARTMENT, ITEM)
CANONICAL = canonical_topic(ITEM)
DEAD = dead_letter_topic(ITEM)
PARKED = parked_topic("sub-a")
CONTROL = f"{control_prefix()}grants.credit"
GROUP = "govbus.subscription.sub-a"


def judgement(silent_after: float = 3600.0) -> Judgement:
    return Judgement(catalogue=load_catalogue(), register=load_register(), grace_seconds=3600.0,
                     subscriber_silent_after=silent_after, grant_warning_seconds=7 * DAY)


def check(address: str, reachable: bool = True) -> Check:
    return Check(address=address, reachable=reachable, seconds=0.01, error=None if reachable else "refused")


def reading() -> Reading:
    topics = {DEPT: [0], CANONICAL: [0, 1], DEAD: [0], PARKED: [0], CONTROL: [0]}
    ends = {(DEPT, 0): PartitionEnds(0, 12), (CANONICAL, 0): PartitionEnds(0, 8), (CANONICAL, 1): PartitionEnds(0, 4),
            (DEAD, 0): PartitionEnds(0, 5), (PARKED, 0): PartitionEnds(0, 2), (CONTROL, 0): PartitionEnds(0, 9)}
    committed = {GROUP: {(CANONICAL, 0): 5}, "govbus-normaliser": {(DEPT, 0): 10}}
    times = {(CANONICAL, 0, 5): NOW - 120, (CANONICAL, 1, 0): NOW - 300}
    return Reading(topics, ends, committed, times)


def grant(grant_id: str, expires_in: float) -> Grant:
    return Grant(grant_id=grant_id, subscriber="centre", item=ITEM, approved_by=DEPARTMENT,
                 purpose="licensing checks", fields=["decision_number"],
                 expires_at=dt.datetime.fromtimestamp(NOW + expires_in, dt.UTC))


def last_events(age: float) -> LastEvents:
    at = dt.datetime.fromtimestamp(NOW - age, dt.UTC)
    seen = dt.datetime.fromtimestamp(NOW, dt.UTC)
    return merge([LastEvent(department=DEPARTMENT, item=ITEM, source_system="credit-publicity", last_event_at=at,
                            last_seen_at=at, events=3),
                  Watcher(watcher="govbus-normaliser", items=(ITEM,), started_at=seen, seen_at=seen)])


def reads(**changes: object) -> Reads:
    values: dict[str, object] = {
        "checked_at": NOW, "seconds": 0.5, "prefix": "govbus", "broker": check("127.0.0.1:9092"),
        "registry": check("http://127.0.0.1:8081"),
        "components": [ComponentStatus(name="exporter", url="http://127.0.0.1:9110/metrics", up=True, seconds=0.01,
                                       last_scrape_at=dt.datetime.fromtimestamp(NOW, dt.UTC))],
        "reading": reading(),
        "subscriptions": [SubscriptionPositions("sub-a", GROUP, {(CANONICAL, 0): 5, (CANONICAL, 1): None})],
        "grants": [grant("soon", 2 * DAY), grant("later", 30 * DAY), grant("gone", -DAY)],
        "hour_ago": {(DEPT, 0): -1, (CANONICAL, 0): 6, (CANONICAL, 1): 0, (DEAD, 0): 2, (PARKED, 0): -1},
        "last_events": last_events(age=600), "source_notes": [],
    }
    values.update(changes)
    return Reads(**values)  # type: ignore[arg-type]


def test_lag_per_subscription_and_group_the_last_hour_and_expiring_grants() -> None:
    status = assemble(reads(), judgement(), IdleTracker())
    [subscription] = status.subscriptions
    assert (subscription.name, subscription.group, subscription.lag_events) == ("sub-a", GROUP, 3 + 4)
    assert subscription.lag_seconds == 300 and subscription.idle_seconds == 300 and not subscription.silent
    [group] = status.groups
    assert (group.group, group.lag_events, group.lag_seconds) == ("govbus-normaliser", 2, 0.0), "no time found: 0 s"
    last_hour = {t.topic: t.last_hour for t in status.topics}
    assert last_hour == {DEPT: 0, CANONICAL: 2 + 4, DEAD: 3, PARKED: 0}, "the control topic is not counted"
    assert status.dead_letters_last_hour == 3 and status.parked_last_hour == 0
    assert status.end_offsets("canonical") == 12 and status.end_offsets("dept") == 12
    [soon] = status.grants_expiring
    assert (soon.grant, soon.expires_in_seconds) == ("soon", 2 * DAY), "not the later one nor the expired one"
    assert status.healthy and status.problems == [] and status.sources_judged == 1
    assert any("3 dead letters in the last hour" in note for note in status.notes)
    assert any("grant soon of credit" in note for note in status.notes), "expiring grants are notes, not problems"


def test_silent_source_system_and_subscription_and_a_down_component_are_problems() -> None:
    down = ComponentStatus(name="gateway", url="http://127.0.0.1:9101/metrics", up=False, seconds=0.01,
                           last_scrape_at=None, error="ConnectError")
    status = assemble(reads(last_events=last_events(age=3 * DAY), components=[down]), judgement(silent_after=100),
                      IdleTracker())
    assert not status.healthy
    [source] = status.silent_sources
    assert (source.department, source.item, source.source_system) == (DEPARTMENT, ITEM, "credit-publicity")
    assert source.item_title == "行政许可和行政处罚信用信息" and source.silent_for_seconds == 3 * DAY
    assert source.allowed_silence_seconds == DAY + 3600
    assert [s.system for s in status.silent_systems] == ["credit-publicity"]
    assert status.subscriptions[0].silent
    assert len(status.problems) == 4
    assert status.problems[0].startswith("component gateway does not answer")
    assert any(p.startswith("source credit/credit_record/credit-publicity is silent") for p in status.problems)
    again = json.loads(status.model_dump_json())
    assert again["silent_sources"][0]["item_title"] == source.item_title and again["healthy"] is False


def test_an_unreachable_broker_leaves_the_bus_unread_not_zero() -> None:
    status = assemble(reads(broker=check("127.0.0.1:1", reachable=False), reading=None, subscriptions=[],
                            grants=None, hour_ago=None, last_events=None), judgement(), IdleTracker())
    assert not status.healthy and not status.offsets_read and status.sources_judged is None
    assert status.problems == ["the broker at 127.0.0.1:1 does not answer: refused"]
    assert status.topics == [] and status.subscriptions == [] and status.grants_expiring == []


def test_a_step_not_read_is_a_problem_and_source_notes_are_kept() -> None:
    status = assemble(reads(unread=["the sources topic: not allowed"], source_notes=["no heartbeat lately"],
                            last_events=None), judgement(), IdleTracker())
    assert status.problems == ["could not read the sources topic: not allowed"]
    assert status.notes[0] == "no heartbeat lately"


def test_the_idle_tracker_carries_movement_between_reads() -> None:
    idle = IdleTracker()
    assemble(reads(), judgement(silent_after=100), idle)
    moved = reads(checked_at=NOW + 10, subscriptions=[SubscriptionPositions("sub-a", GROUP, {(CANONICAL, 0): 6,
                                                                                          (CANONICAL, 1): None})])
    status = assemble(moved, judgement(silent_after=100), idle)
    assert status.subscriptions[0].idle_seconds == 0 and not status.subscriptions[0].silent, "it moved just now"


@pytest.mark.parametrize(("hour_ago", "end", "count"), [(-1, 10, 0), (4, 10, 6), (10, 10, 0), (12, 10, 0)])
def test_last_hour_count(hour_ago: int, end: int, count: int) -> None:
    assert last_hour_count(hour_ago, end) == count


def test_targets_are_name_url_pairs() -> None:
    assert parse_targets("gateway=http://a:9101/metrics, normaliser=https://b/metrics\nx=http://c") == (
        Target(name="gateway", url="http://a:9101/metrics"), Target(name="normaliser", url="https://b/metrics"),
        Target(name="x", url="http://c"))
    assert parse_targets("  ") == ()
    with pytest.raises(ValueError, match="'gateway' is not name=http"):
        parse_targets("gateway")
    with pytest.raises(ValueError, match="named twice"):
        parse_targets("a=http://x a=http://y")


def test_the_targets_setting_reads_the_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVBUS_STATUS_TARGETS", "exporter=http://127.0.0.1:9110/metrics")
    assert StatusSettings().status_targets == (Target(name="exporter", url="http://127.0.0.1:9110/metrics"),)
    monkeypatch.setenv("GOVBUS_STATUS_TARGETS", "exporter=ftp://x")
    with pytest.raises(ValidationError, match="is not name=http"):
        StatusSettings()


def test_the_local_platforms_exporter_is_checked_on_its_own_broker_only(tmp_path: Path) -> None:
    platform = PlatformSettings(home=tmp_path)
    platform.dev_dir.mkdir(parents=True)
    state = {"kafka_bootstrap": "127.0.0.1:9092", "registry_url": "http://127.0.0.1:8081", "kafka_pid": 1,
             "registry_pid": 1, "kafka_version": "4.4.0", "data_dir": str(tmp_path),
             "exporter_pid": 1, "exporter_metrics_url": "http://127.0.0.1:9110/metrics"}
    (platform.dev_dir / "state.json").write_text(json.dumps(state))
    exporter = Target(name="exporter", url="http://127.0.0.1:9110/metrics")
    here = StatusSettings(kafka=KafkaConnection(bootstrap="127.0.0.1:9092"))
    assert components(here, platform) == [exporter]
    assert components(StatusSettings(kafka=KafkaConnection(bootstrap="10.0.0.1:9092")), platform) == []
    assert components(here.model_copy(update={"status_dev_platform": False}), platform) == []
    named = here.model_copy(update={"status_targets": (Target(name="exporter", url="http://other/metrics"),)})
    assert components(named, platform) == [Target(name="exporter", url="http://other/metrics")], "the setting wins"
    assert components(here, PlatformSettings(home=tmp_path / "none")) == [], "no platform state"
