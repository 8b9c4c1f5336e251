"""Silent sources and systems judged from last events, the catalogue's update cycles, the register and a grace:
cycles, grace, unwatched items, retired and retiring systems, never published, undeclared sources, the metrics."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from govbus.cli import main
from govbus.commands import operations
from govbus.last_events import LastEvent, LastEvents, Watcher, merge
from govbus.operations.source_collector import SourceCollector
from govbus.operations.sources import CYCLE_SECONDS, DAY, allowed_silence, duration, source_metrics, source_statuses
from govbus.operations.systems import system_metrics, system_statuses, undeclared_sources
from schemas.catalogue import Department, UpdateCycle, load_catalogue
from schemas.catalogue.metadata import Title
from schemas.catalogue.register import DeclaredStatus, Network, SourceSystem, SystemRegister, load_register

NOW = dt.datetime(2026, 12, 5, 8, 0, tzinfo=dt.UTC)
HOUR = 3600.0
CATALOGUE = load_catalogue()


def last(department: str, item: str, system: str, age_seconds: float, events: int = 3) -> LastEvent:
    at = NOW - dt.timedelta(seconds=age_seconds)
    return LastEvent(department=department, item=item, source_system=system, last_event_at=at, last_seen_at=at,
                     events=events)


def watcher(*items: str, app: str = "govbus-normaliser") -> Watcher:
    return Watcher(watcher=app, items=items, started_at=NOW - dt.timedelta(days=1), seen_at=NOW)


def system(system_id: str, department: str, items: tuple[str, ...],
           status: DeclaredStatus = DeclaredStatus.ACTIVE) -> SourceSystem:
    return SourceSystem(id=system_id, name=Title(zh="系统", en="System"), department=Department(department),
                        items=items, network=Network.EXTRANET, status=status)


def test_each_cycle_allows_its_length_plus_the_grace() -> None:
    assert allowed_silence(UpdateCycle.REAL_TIME, 60) == 60
    assert allowed_silence(UpdateCycle.DAILY, 60) == DAY + 60
    assert allowed_silence(UpdateCycle.MONTHLY, 0) == 31 * DAY
    assert set(CYCLE_SECONDS) == set(UpdateCycle)
    assert list(CYCLE_SECONDS.values()) == sorted(CYCLE_SECONDS.values())


def test_a_real_time_source_is_silent_after_the_grace_a_daily_one_after_a_day_more() -> None:
    assert CATALOGUE.get("enterprise_registration").metadata.update_cycle is UpdateCycle.REAL_TIME
    assert CATALOGUE.get("credit_record").metadata.update_cycle is UpdateCycle.DAILY
    events = merge([last("market-regulation", "enterprise_registration", "registration-db", 2 * HOUR),
                    last("market-regulation", "enterprise_registration", "zhejiang-aic-v2", 10.0),
                    last("credit", "credit_record", "credit-publicity", 20 * HOUR),
                    watcher("enterprise_registration", "credit_record")])
    statuses = {s.last.source_system: s for s in source_statuses(events, CATALOGUE, load_register(), NOW, HOUR)}
    assert statuses["registration-db"].silent and statuses["registration-db"].silent_for == 2 * HOUR
    assert not statuses["zhejiang-aic-v2"].silent and statuses["zhejiang-aic-v2"].silent_for == 10.0
    assert not statuses["credit-publicity"].silent, "a daily item: one day plus an hour allowed"
    assert statuses["credit-publicity"].allowed_seconds == DAY + HOUR
    as_json = statuses["registration-db"].as_json()
    assert as_json["silent"] is True and as_json["silent_for_seconds"] == 2 * HOUR and as_json["declared"] is True
    assert as_json["update_cycle"] == "real_time" and as_json["declared_status"] == "active"


def test_an_unwatched_item_and_a_retired_system_are_not_judged() -> None:
    register = SystemRegister([system("old-registry", "market-regulation", ("enterprise_registration",),
                                      DeclaredStatus.RETIRED)])
    events = merge([last("market-regulation", "enterprise_registration", "old-registry", 30 * DAY),
                    last("credit", "credit_record", "credit-publicity", 30 * DAY),
                    watcher("enterprise_registration")])
    statuses = {s.last.source_system: s for s in source_statuses(events, CATALOGUE, register, NOW, HOUR)}
    assert not statuses["old-registry"].silent and statuses["old-registry"].watched
    assert not statuses["credit-publicity"].silent and not statuses["credit-publicity"].watched
    assert statuses["credit-publicity"].silent_for == 30 * DAY, "its silence is still reported"


def test_without_any_watcher_nothing_is_judged_silent() -> None:
    events = merge([last("market-regulation", "enterprise_registration", "registration-db", 30 * DAY)])
    [status] = source_statuses(events, CATALOGUE, load_register(), NOW, HOUR)
    assert not status.watched and not status.silent


def test_an_undeclared_source_is_judged_and_listed() -> None:
    events = merge([last("market-regulation", "enterprise_registration", "bulk-load", 2 * HOUR),
                    last("taxation", "tax_payment_certificate", "registration-db", 1.0),  # another department's id
                    watcher("enterprise_registration", "tax_payment_certificate")])
    statuses = source_statuses(events, CATALOGUE, load_register(), NOW, HOUR)
    assert [(s.last.source_system, s.declared, s.silent) for s in statuses] == [
        ("bulk-load", False, True), ("registration-db", False, False)]
    assert [s.last.department for s in undeclared_sources(events, CATALOGUE, load_register(), NOW, HOUR)] == [
        "market-regulation", "taxation"]


def test_sources_of_an_item_the_catalogue_lost_are_left_out() -> None:
    events = merge([last("market-regulation", "no_longer_catalogued", "registration-db", 1.0),
                    watcher("no_longer_catalogued")])
    assert source_statuses(events, CATALOGUE, load_register(), NOW, HOUR) == []


REGISTER = SystemRegister([
    system("fresh", "market-regulation", ("enterprise_registration",)),
    system("quiet", "market-regulation", ("enterprise_registration",)),
    system("never", "market-regulation", ("enterprise_registration",)),
    system("leaving", "market-regulation", ("enterprise_registration",), DeclaredStatus.RETIRING),
    system("leaving-quiet", "market-regulation", ("enterprise_registration",), DeclaredStatus.RETIRING),
    system("gone", "market-regulation", ("enterprise_registration",), DeclaredStatus.RETIRED),
    system("gone-never", "market-regulation", ("enterprise_registration",), DeclaredStatus.RETIRED),
    system("half", "natural-resources", ("real_estate_registration", "land_use_right_transfer")),
    system("elsewhere", "credit", ("credit_record",)),
])
EVENTS = merge([
    last("market-regulation", "enterprise_registration", "fresh", 60.0),
    last("market-regulation", "enterprise_registration", "quiet", 3 * HOUR),
    last("market-regulation", "enterprise_registration", "leaving-quiet", 3 * HOUR),
    last("market-regulation", "enterprise_registration", "gone", 3 * HOUR),
    last("market-regulation", "identity_verification", "fresh", 30.0),  # not declared for this item
    last("natural-resources", "real_estate_registration", "half", 60.0),  # land_use_right_transfer: never
    watcher("enterprise_registration", "identity_verification", "real_estate_registration", "land_use_right_transfer"),
])


@pytest.mark.parametrize(("system_id", "never", "silent", "watched"), [
    ("fresh", False, False, True),
    ("quiet", False, True, True),          # its real-time item overdue
    ("never", True, True, True),           # declared active, nothing ever came
    ("leaving", True, False, True),        # retiring and never published: on its way out
    ("leaving-quiet", False, True, True),  # retiring, still declared to publish: overdue counts
    ("gone", False, False, True),          # retired: silence expected
    ("gone-never", True, False, True),
    ("half", False, True, True),           # one declared item never came
    ("elsewhere", True, False, False),     # no normaliser reads credit_record: not judged
])
def test_systems_are_judged_from_their_sources(system_id: str, never: bool, silent: bool, watched: bool) -> None:
    statuses = {s.system.id: s for s in system_statuses(EVENTS, CATALOGUE, REGISTER, NOW, HOUR)}
    status = statuses[system_id]
    assert (status.never_published, status.silent, status.watched) == (never, silent, watched)


def test_a_system_shows_its_newest_event_and_what_it_publishes_undeclared() -> None:
    statuses = {s.system.id: s for s in system_statuses(EVENTS, CATALOGUE, REGISTER, NOW, HOUR)}
    fresh = statuses["fresh"]
    assert fresh.last_event_at == NOW - dt.timedelta(seconds=30) and fresh.silent_for == 30.0
    assert fresh.undeclared_items == ("identity_verification",)
    half = statuses["half"].as_json()
    assert [(i["item"], i["overdue"], i["silent_for_seconds"]) for i in half["items"]] == [
        ("real_estate_registration", False, 60.0), ("land_use_right_transfer", True, None)]
    assert statuses["never"].as_json()["last_event_at"] is None


def _samples(families: list) -> dict[tuple[str, tuple[str, ...]], float]:  # type: ignore[type-arg]
    return {(f.name, tuple(s.labels.values())): s.value for f in families for s in f.samples}


def test_the_metrics_carry_the_judgement() -> None:
    sources = _samples(source_metrics(source_statuses(EVENTS, CATALOGUE, REGISTER, NOW, HOUR)))
    key = ("market-regulation", "enterprise_registration", "quiet")
    assert sources[("govbus_source_silent", key)] == 1.0
    assert sources[("govbus_source_silent_seconds", key)] == 3 * HOUR
    assert sources[("govbus_source_last_event_timestamp_seconds", key)] == (NOW - dt.timedelta(hours=3)).timestamp()
    assert sources[("govbus_source_silent", ("market-regulation", "enterprise_registration", "fresh"))] == 0.0
    systems = _samples(system_metrics(system_statuses(EVENTS, CATALOGUE, REGISTER, NOW, HOUR)))
    assert systems[("govbus_system_never_published", ("never", "market-regulation"))] == 1.0
    assert systems[("govbus_system_silent", ("never", "market-regulation"))] == 1.0
    assert systems[("govbus_system_last_event_timestamp_seconds", ("never", "market-regulation"))] == 0.0
    assert systems[("govbus_system_silent", ("fresh", "market-regulation"))] == 0.0


def test_the_collector_judges_the_last_read_at_scrape_time() -> None:
    clock = [NOW]
    reads: list[LastEvents] = [EVENTS]
    collector = SourceCollector(lambda: reads[-1], CATALOGUE, REGISTER, HOUR, clock=lambda: clock[0])
    registry = CollectorRegistry()
    registry.register(collector)

    def scraped() -> dict[tuple[str, tuple[str, ...]], float]:
        text = generate_latest(registry).decode()
        return {(s.name, tuple(s.labels.values())): s.value for f in text_string_to_metric_families(text)
                for s in f.samples}

    assert scraped() == {}, "nothing before the first read: no system is 'never published' by default"
    collector.refresh()
    fresh = ("govbus_source_silent", ("market-regulation", "enterprise_registration", "fresh"))
    assert scraped()[fresh] == 0.0
    clock[0] = NOW + dt.timedelta(hours=2)  # no new read: the silence grows
    assert scraped()[fresh] == 1.0
    assert scraped()[("govbus_source_silent_seconds", fresh[1])] == 2 * HOUR + 60


def test_the_commands_print_tables_and_say_what_limits_the_judgement(monkeypatch: pytest.MonkeyPatch) -> None:
    """`govbus sources silent` and `govbus systems list` without --json, on last events read a week ago."""
    now = dt.datetime.now(dt.UTC)  # the commands judge at the time they run
    old = now - dt.timedelta(days=7)
    read = merge([LastEvent(department="market-regulation", item="enterprise_registration",
                            source_system="zhejiang-aic-v2", last_event_at=now - dt.timedelta(days=2),
                            last_seen_at=now, events=4),
                  Watcher(watcher="govbus-normaliser", items=("enterprise_registration",), started_at=old,
                          seen_at=old)])
    monkeypatch.setattr(operations, "read_sources", lambda _settings: read)
    runner = CliRunner(env={"COLUMNS": "200"})
    silent = runner.invoke(main, ["sources", "silent"])
    assert silent.exit_code == 0, silent.output
    assert "zhejiang-aic-v2" in silent.output and "update cycle" in silent.output
    assert "the normaliser last wrote a heartbeat" in silent.output, "its watcher record is a week old"
    systems = runner.invoke(main, ["systems", "list"])
    assert systems.exit_code == 0, systems.output
    assert "aic-archive" in systems.output and "never published" in systems.output
    assert "unwatched" in systems.output, "credit-publicity: no normaliser reads credit_record"


def test_durations_read_as_an_operator_says_them() -> None:
    assert [duration(s) for s in (None, 5, 60, 3600, 3660, DAY, DAY + HOUR)] == [
        "never", "5 s", "1 min", "1 h", "1 h 1 min", "1 d", "1 d 1 h"]
