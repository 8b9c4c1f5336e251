"""The exporter's pure parts: lag from offsets, idle time, topic kinds, grant expiries, the families made."""

from __future__ import annotations

import datetime as dt

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from govbus.operations.grants import grant_expiries
from govbus.operations.idle import IdleTracker
from govbus.operations.lag import Lag, PartitionEnds, lag_by_topic, targets, waiting_events
from govbus.operations.metrics import (
    FamiliesCollector,
    Reading,
    grant_families,
    group_families,
    subscription_families,
    topic_families,
)
from govbus.operations.settings import ExporterSettings
from govbus.operations.sources import SourcesSettings
from govbus.operations.subscriptions import subscription_lags, subscription_positions
from govbus.operations.topic_kinds import KINDS, TopicKinds
from govbus.sharing.model import Delivery, DeliveryKind, Grant, ItemRequest, Subscription
from schemas.catalogue import load_catalogue

P = "govbus.ops-test"
NOW = 1_800_000_000.0
CANONICAL = f"{P}.canonical.enterprise-registration"


@pytest.mark.parametrize(("committed", "ends", "events"), [
    (40, PartitionEnds(0, 100), 60), (None, PartitionEnds(10, 100), 90), (5, PartitionEnds(10, 100), 90),
    (100, PartitionEnds(0, 100), 0), (None, PartitionEnds(7, 7), 0)])
def test_events_waiting_count_from_the_position_or_the_log_start(committed: int | None, ends: PartitionEnds,
                                                                events: int) -> None:
    assert waiting_events(committed, ends) == events


def test_a_commit_at_the_final_marker_of_a_transactional_topic_is_caught_up() -> None:
    marked = PartitionEnds(0, 6, final_marker=True)
    assert waiting_events(5, marked) == 0 and targets({("t", 0): 5}, {("t", 0): marked}) == set()
    assert waiting_events(4, marked) == 2, "a record still waits before the marker"
    assert waiting_events(5, PartitionEnds(0, 6)) == 1, "elsewhere the last offset is a record"
    kinds = TopicKinds(P)
    assert [kinds.transactional(f"{P}.{name}") for name in (
        "canonical.x", "profile.enterprise", "dead-letter.x", "dead-letter.subscription.s", "dept.d.x",
        "delivery.s.x", "audit.deliveries")] == [True, True, True, False, False, False, False]


def test_lag_by_topic_sums_partitions_and_takes_the_oldest_waiting_record() -> None:
    ends = {("a", 0): PartitionEnds(0, 10), ("a", 1): PartitionEnds(0, 10), ("b", 0): PartitionEnds(0, 5)}
    positions: dict[tuple[str, int], int | None] = {("a", 0): 4, ("a", 1): 10, ("b", 0): None, ("gone", 0): 3}
    assert targets(positions, ends) == {("a", 0, 4), ("b", 0, 0)}
    times = {("a", 0, 4): NOW - 30, ("b", 0, 0): NOW - 5}
    lags = lag_by_topic(positions, ends, times)
    assert lags == {"a": Lag(6, NOW - 30), "b": Lag(5, NOW - 5)}
    assert lags["a"].seconds(NOW) == 30
    assert Lag(0, None).seconds(NOW) == 0 and Lag(3, NOW + 60).seconds(NOW) == 0, "never negative"


def test_idle_grows_while_the_group_stands_and_events_wait() -> None:
    idle = IdleTracker()
    assert idle.idle("s", {("a", 0): 4}, 500.0, NOW) == 500.0, "first sight: the oldest waiting event's age"
    assert idle.idle("s", {("a", 0): 4}, 510.0, NOW + 10) == 510.0
    assert idle.idle("s", {("a", 0): 6}, 100.0, NOW + 20) == 0.0, "it moved"
    assert idle.idle("s", {("a", 0): 6}, 130.0, NOW + 50) == 30.0
    assert idle.idle("s", {("a", 0): 6}, 0.0, NOW + 60) == 0.0, "caught up"
    assert idle.idle("s", {("a", 0): 6}, 5.0, NOW + 500) == 5.0, "no longer than the events waited"
    idle.keep_only(set())
    assert idle.idle("s", {("a", 0): 6}, 50.0, NOW + 600) == 50.0, "forgotten: first sight again"


def test_topic_kinds_follow_the_naming_convention() -> None:
    kinds = TopicKinds(P)
    found = {name: kinds.kind(f"{P}.{name}") for name in (
        "dept.taxation.tax-payment-certificate", "local.taxation.tax-payment-certificate.zj-v2",
        "canonical.tax-payment-certificate", "dead-letter.tax-payment-certificate",
        "dead-letter.subscription.hz-one-stop", "profile.enterprise", "delivery.hz.hz-one-stop",
        "audit.deliveries", "control.grants.taxation", "something-else", "canonical")}
    assert list(found.values()) == ["dept", "local", "canonical", "dead-letter", "parked", "profile", "delivery",
                                    "audit", "control", "other", "other"]
    assert set(found.values()) == set(KINDS)
    assert kinds.under(f"{P}.canonical.x") and not kinds.under(f"{P}x.canonical.x") and not kinds.under("other")


def _grant(grant_id: str, expires: dt.datetime, revoked: bool = False) -> Grant:
    return Grant(grant_id=grant_id, subscriber="hz-centre", item="tax_payment_certificate", approved_by="taxation",
                 purpose="housing checks", fields=["certificate_number"], expires_at=expires, revoked=revoked)


def test_only_active_grants_have_an_expiry_series() -> None:
    now = dt.datetime.fromtimestamp(NOW, dt.UTC)
    grants = [_grant("g-1", now + dt.timedelta(days=30)), _grant("g-2", now - dt.timedelta(seconds=1)),
              _grant("g-3", now + dt.timedelta(days=1), revoked=True)]
    assert grant_expiries(grants, now) == [(("taxation", "hz-centre", "tax_payment_certificate", "g-1"),
                                            NOW + 30 * 86_400)]


def _subscription(name: str, kind: DeliveryKind = DeliveryKind.KAFKA) -> Subscription:
    return Subscription(name=name, subscriber="hz-centre", delivery=Delivery(kind=kind),
                        items=[ItemRequest(item="enterprise_registration", fields=["uscc", "name"])])


def test_a_subscription_waits_on_every_partition_of_its_sources_committed_or_not() -> None:
    topics = {CANONICAL: [0, 1]}
    committed = {f"{P}.subscription.hz": {(CANONICAL, 0): 8}}
    found = subscription_positions([_subscription("hz"), _subscription("never-ran"),
                                    _subscription("feed", DeliveryKind.FEED)], load_catalogue(), [],
                                   dt.datetime.fromtimestamp(NOW, dt.UTC), P, topics, committed)
    assert [(s.name, s.positions) for s in found] == [
        ("hz", {(CANONICAL, 0): 8, (CANONICAL, 1): None}),
        ("never-ran", {(CANONICAL, 0): None, (CANONICAL, 1): None})]
    ends = {(CANONICAL, 0): PartitionEnds(0, 10), (CANONICAL, 1): PartitionEnds(0, 4)}
    times = {(CANONICAL, 0, 8): NOW - 7200, (CANONICAL, 1, 0): NOW - 100, (CANONICAL, 0, 0): NOW - 9000}
    lags = subscription_lags(found, ends, times, IdleTracker(), 3600, NOW)
    assert [(s.name, s.lag.events, s.seconds, s.idle_seconds, s.silent) for s in lags] == [
        ("hz", 6, 7200, 7200, True), ("never-ran", 14, 9000, 9000, True)]


def test_families_hold_only_what_was_read_last() -> None:
    reading = Reading(topics={CANONICAL: [0, 1]},
                      ends={(CANONICAL, 0): PartitionEnds(0, 10), (CANONICAL, 1): PartitionEnds(2, 4)},
                      committed={"g": {(CANONICAL, 0): 7}}, times={(CANONICAL, 0, 7): NOW - 12})
    collector = FamiliesCollector()
    registry = CollectorRegistry()
    registry.register(collector)
    collector.replace("groups", group_families(reading, NOW))
    collector.replace("topics", topic_families(reading, TopicKinds(P)))
    collector.replace("grants", grant_families([(("taxation", "hz", "tax_payment_certificate", "g-1"), NOW)]))
    collector.replace("subscriptions", subscription_families([]))
    text = generate_latest(registry).decode()
    assert f'govbus_group_lag_events{{group="g",topic="{CANONICAL}"}} 3.0' in text
    assert f'govbus_group_lag_seconds{{group="g",topic="{CANONICAL}"}} 12.0' in text
    assert f'govbus_topic_end_offset{{kind="canonical",topic="{CANONICAL}"}} 14.0' in text
    assert 'govbus_grant_expiry_timestamp_seconds{department="taxation",grant="g-1"' in text
    collector.replace("groups", group_families(Reading({}, {}, {}, {}), NOW))
    assert 'group="g"' not in generate_latest(registry).decode(), "a deleted group leaves no series behind"


def test_the_exporter_reads_the_sources_grace_as_the_sources_commands_do() -> None:
    assert (ExporterSettings.model_fields["sources_grace_seconds"].default
            == SourcesSettings.model_fields["sources_grace_seconds"].default)
