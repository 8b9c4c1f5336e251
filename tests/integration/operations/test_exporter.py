"""The exporter (`govbus run exporter`) end to end, as a process (stopped by PID) running as the operator
principal with the operator's ACLs only, on the session broker.

A canonical topic gets records stamped a minute apart and an hour old; a subscription's connector group commits
a known position on one partition with a consumer that is then closed (the group is stopped, as a connector that
died); a grant is declared. The scrape must show exactly the uncommitted events, the age of the oldest of them
(the right record: its neighbours are a minute away, while the age is found to a second), the subscription's lag
on both partitions (the never-committed one from its first record), its idle time and silence, the topics' end
offsets with their kinds and the grant's expiry; once the group is deleted its series are gone. A group that read a
profile topic (written with transactions, as the profile builder does) to its end committed the offset of the
final commit marker: it has no lag.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from govbus import clients
from govbus.connection import KafkaConnection
from govbus.platform.components import Component, start_component
from govbus.platform.processes import free_port
from govbus.sharing import principals
from govbus.sharing.model import Delivery, DeliveryKind, Grant, ItemRequest, Subscription
from govbus.sharing.processor_access import operator_acls, operator_user
from govbus.sharing.runtime import consumer_group
from govbus.sharing.store import SharingStore
from govbus.topic_names import canonical_topic, department_topic, profile_topic
from govbus.topics import TopicSpec, ensure_topics
from testsupport.connections import kafka_at

ITEM = "enterprise_registration"
RECORDS = 40  # 20 per partition
SPACING_MS = 60_000
COMMITTED = 7  # on partition 0; partition 1 never committed
SUBSCRIPTION = "hz-watch"
PROFILE_RECORDS = 5
Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@dataclass(frozen=True)
class Bus:
    prefix: str
    admin: KafkaConnection
    operator: KafkaConnection
    canonical: str
    profile: str
    stamps: list[list[int]]
    """per partition, each record's timestamp (ms)"""
    expires: dt.datetime


def _commit(kafka: KafkaConnection, group: str, offsets: list[TopicPartition]) -> None:
    """Commit ``offsets`` for ``group`` with a consumer that joins nothing, then close it (the group is stopped);
    asked again while the group's coordinator is still being set up."""
    consumer = clients.consumer(kafka, group, {"enable.auto.commit": False})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                consumer.commit(offsets=offsets, asynchronous=False)
                return
            except KafkaException as error:
                retriable = error.args[0].code() in (KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_NOT_AVAILABLE,
                                                     KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError._TIMED_OUT)
                if not retriable or time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
    finally:
        consumer.close()


@pytest.fixture(scope="module")
def bus(kafka_bootstrap: str) -> Bus:
    prefix = f"govbus.exp-{uuid.uuid4().hex[:8]}"
    admin = kafka_at(kafka_bootstrap)
    password = secrets.token_urlsafe(18)
    principals.provision(admin, {operator_user(): password}, operator_acls(prefix))
    operator = admin.with_credentials(operator_user(), password)
    canonical = canonical_topic(ITEM, prefix)
    ensure_topics(admin, [TopicSpec(canonical, 2), TopicSpec(department_topic("market-regulation", ITEM, prefix), 1)])
    oldest = int(time.time() * 1000) - 3_600_000
    stamps: list[list[int]] = [[], []]
    producer = clients.producer(admin)
    for number in range(RECORDS):
        stamp = oldest + number * SPACING_MS
        stamps[number % 2].append(stamp)
        producer.produce(canonical, key=f"k{number}".encode(), value=b"{}", partition=number % 2, timestamp=stamp)
    assert producer.flush(30) == 0
    _commit(admin, consumer_group(SUBSCRIPTION, prefix), [TopicPartition(canonical, 0, COMMITTED)])
    profile = _transactional_profile(admin, prefix)
    _commit(admin, _reader_group(prefix), [TopicPartition(profile, 0, PROFILE_RECORDS)])  # after its last record
    store = SharingStore(admin, prefix)
    store.put_subscription(Subscription(name=SUBSCRIPTION, subscriber="hz-centre",
                                        delivery=Delivery(kind=DeliveryKind.KAFKA),
                                        items=[ItemRequest(item=ITEM, fields=["uscc", "name"])]))
    expires = dt.datetime(2031, 6, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    store.put_grant(Grant(grant_id="tax-2031-0001", subscriber="hz-centre", item="tax_payment_certificate",
                          approved_by="taxation", purpose="housing purchase checks", fields=["certificate_number"],
                          expires_at=expires))
    return Bus(prefix, admin, operator, canonical, profile, stamps, expires)


def _reader_group(prefix: str) -> str:
    return f"{prefix}.subscriber.hz-centre.reader"


def _transactional_profile(admin: KafkaConnection, prefix: str) -> str:
    """A profile topic holding one transaction of records (then its commit marker), as the profile builder writes."""
    topic = profile_topic("enterprise", prefix)
    ensure_topics(admin, [TopicSpec(topic, 1)])
    producer = clients.producer(admin, {"transactional.id": f"exporter-test-{uuid.uuid4().hex[:8]}"})
    producer.init_transactions(30)
    producer.begin_transaction()
    for number in range(PROFILE_RECORDS):
        producer.produce(topic, key=f"p{number}".encode(), value=b"{}", partition=0)
    producer.commit_transaction(30)
    return topic


@pytest.fixture
def exporter(bus: Bus, tmp_path: Path) -> Iterator[tuple[Component, str]]:
    port = free_port()
    env = {**bus.operator.as_env(), "GOVBUS_TOPIC_PREFIX": bus.prefix, "GOVBUS_EXPORTER_METRICS_PORT": str(port),
           "GOVBUS_EXPORTER_REFRESH_SECONDS": "1", "GOVBUS_EXPORTER_SUBSCRIBER_SILENT_AFTER_SECONDS": "600"}
    component = start_component("exporter", "govbus.operations", env, tmp_path / "exporter.log")
    try:
        yield component, f"http://127.0.0.1:{port}/metrics"
    finally:
        component.stop()
        assert not component.alive()


def _scrape(url: str) -> Series:
    try:
        text = httpx.get(url, timeout=5).text
    except httpx.HTTPError:
        return {}
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def _until(url: str, ready: Callable[[Series], bool], component: Component, what: str) -> tuple[Series, float]:
    """The first scrape that ``ready`` accepts, and when it was taken (unix seconds)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert component.alive(), f"the exporter stopped: {component.log_path.read_text(errors='replace')[-2000:]}"
        taken = time.time()
        series = _scrape(url)
        if ready(series):
            return series, taken
        time.sleep(0.3)
    raise AssertionError(f"no scrape showed {what}: {component.log_path.read_text(errors='replace')[-2000:]}")


def _value(series: Series, name: str, **labels: str) -> float:
    return series[(name, tuple(sorted(labels.items())))]


def test_lag_of_a_stopped_group_and_subscription_topic_ends_and_grants(bus: Bus,
                                                                      exporter: tuple[Component, str]) -> None:
    component, url = exporter
    group = consumer_group(SUBSCRIPTION, bus.prefix)
    lag = ("govbus_group_lag_events", (("group", group), ("topic", bus.canonical)))
    series, scraped = _until(url, lambda s: lag in s and ("govbus_subscription_silent", (("subscription",
                             SUBSCRIPTION),)) in s, component, "the group's and the subscription's lag")
    per_partition = RECORDS // 2
    assert series[lag] == per_partition - COMMITTED, "exactly the events after the committed offset"

    oldest = bus.stamps[0][COMMITTED] / 1000  # the record at the committed offset waits longest
    age = _value(series, "govbus_group_lag_seconds", group=group, topic=bus.canonical)
    refreshed = _value(series, "govbus_exporter_last_refresh_timestamp_seconds")
    assert age > 0
    # found to the second at the refresh: its neighbours on the partition are two minutes apart
    assert abs(age - (refreshed - oldest)) < 10, (age, refreshed - oldest)

    # the subscription: partition 0 from its commit, partition 1 (never committed) from its first record
    assert _value(series, "govbus_subscription_lag_events", subscription=SUBSCRIPTION) == (
        per_partition - COMMITTED + per_partition)
    first_ever = min(bus.stamps[1][0] / 1000, oldest)
    sub_age = _value(series, "govbus_subscription_lag_seconds", subscription=SUBSCRIPTION)
    assert abs(sub_age - (refreshed - first_ever)) < 10
    idle = _value(series, "govbus_subscription_idle_seconds", subscription=SUBSCRIPTION)
    assert 600 < idle <= sub_age, "not seen moving: idle as long as its oldest event waited"
    assert _value(series, "govbus_subscription_silent", subscription=SUBSCRIPTION) == 1

    assert _value(series, "govbus_topic_end_offset", topic=bus.canonical, kind="canonical") == RECORDS
    dept = department_topic("market-regulation", ITEM, bus.prefix)
    assert _value(series, "govbus_topic_end_offset", topic=dept, kind="dept") == 0
    assert _value(series, "govbus_grant_expiry_timestamp_seconds", department="taxation", subscriber="hz-centre",
                  item="tax_payment_certificate", grant="tax-2031-0001") == bus.expires.timestamp()
    assert _value(series, "govbus_exporter_refresh_errors_total") == 0
    assert scraped - refreshed < 30

    # read to the end of a transactional topic: its commit stops at the final marker, and it has no lag
    reader = _reader_group(bus.prefix)
    assert _value(series, "govbus_topic_end_offset", topic=bus.profile, kind="profile") == PROFILE_RECORDS + 1
    assert _value(series, "govbus_group_lag_events", group=reader, topic=bus.profile) == 0
    assert _value(series, "govbus_group_lag_seconds", group=reader, topic=bus.profile) == 0

    # a deleted group leaves no series behind
    admin = clients.admin(bus.admin)
    admin.delete_consumer_groups([group], request_timeout=10)[group].result(timeout=15)
    after, _ = _until(url, lambda s: bool(s) and lag not in s
                      and _value(s, "govbus_exporter_last_refresh_timestamp_seconds") > refreshed + 1,
                      component, "the deleted group's series gone")
    assert not [key for key in after if ("group", group) in key[1]]
    assert _value(after, "govbus_subscription_lag_events", subscription=SUBSCRIPTION) == RECORDS, (
        "the subscription still waits, now from the first record of each partition")
    assert _value(after, "govbus_exporter_refresh_errors_total") == 0
