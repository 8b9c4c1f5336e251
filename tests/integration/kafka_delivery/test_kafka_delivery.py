"""Kafka delivery on the real broker and registry: a subscription with ``delivery.kind: kafka`` over a conditional
item, under a grant that leaves a personal field masked, gets exactly the filtered, shaped, masked events on its own
topic (counted per record: none lost, duplicated or unexpected), each audited once; after the grant is revoked,
nothing more of that item is written (audited refused) while an unconditional item goes on; a write the broker
refuses stops the connector with nothing committed, and a restart then delivers every event once. The connector runs
in-process; the CLI (``govbus subscriptions add``, ``govbus run kafka-delivery``) runs as processes."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from confluent_kafka import Message
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource
from kafka_delivery_support import CATALOGUE, ENTERPRISE, TAX, Reader, Running, Writers

from connectors.kafka_delivery.connector import KafkaDeliveryConnector
from connectors.kafka_delivery.settings import KafkaDeliverySettings
from consumers.audit_reader import read_audit
from govbus import clients
from govbus.audit import AuditRecord, Outcome
from govbus.exceptions import DeliveryError
from govbus.sharing.masking import mask_resident_id
from govbus.sharing.model import Grant, Subscription
from govbus.sharing.store import SharingStore
from govbus.topic_names import delivery_topic
from govbus.topics import TopicSpec, ensure_topics
from testsupport.connections import kafka_at, registry_at

TAX_FIELDS = ["certificate_number", "taxpayer_name", "taxpayer_resident_id", "amount_cents"]
GRANT_ID = "tax-kafka-0001"


@pytest.fixture
def prefix() -> str:
    return f"govbus.t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def sharing(kafka_bootstrap: str, prefix: str) -> SharingStore:
    return SharingStore(kafka_at(kafka_bootstrap), prefix)


def _grant(subscriber: str, revoked: bool = False) -> Grant:
    """Granted: the requested fields and one more (paid_at, not asked for); the taxpayer's name in clear."""
    return Grant.model_validate({
        "grant_id": GRANT_ID, "subscriber": subscriber, "item": TAX, "approved_by": "taxation",
        "purpose": "housing purchase qualification checks", "fields": [*TAX_FIELDS, "paid_at", "taxpayer_kind"],
        "unmasked": ["taxpayer_name"], "expires_at": dt.datetime.now(dt.UTC) + dt.timedelta(days=30),
        "revoked": revoked})


def _subscription(name: str, subscriber: str, kind: str = "kafka") -> Subscription:
    delivery: dict[str, str] = {"kind": kind}
    if kind == "webhook":
        delivery |= {"url": "http://127.0.0.1:1/x", "secret_env": "NOT_USED"}
    return Subscription.model_validate({
        "name": name, "subscriber": subscriber, "delivery": delivery, "items": [
            {"item": TAX, "fields": TAX_FIELDS, "filter": {"equals": {"taxpayer_kind": "INDIVIDUAL"}}},
            {"item": ENTERPRISE, "fields": ["uscc", "name"]}]})


@pytest.fixture
def connector(kafka_bootstrap: str, registry_url: str, prefix: str) -> Iterator[Callable[[str], Running]]:
    started: list[Running] = []

    def start(name: str) -> Running:
        settings = KafkaDeliverySettings(kafka=kafka_at(kafka_bootstrap), registry=registry_at(registry_url),
                                         topic_prefix=prefix, kafka_delivery_subscription=name,
                                         kafka_delivery_refresh_seconds=1, kafka_delivery_batch_max_ms=20)
        started.append(Running(KafkaDeliveryConnector(settings, CATALOGUE)))
        return started[-1]

    yield start
    for running in started:
        running.stop()


def _audit_of(subscription: str, bootstrap: str, prefix: str, until: Callable[[list[AuditRecord]], bool],
              timeout: float = 30) -> list[AuditRecord]:
    """The subscription's audit records, once ``until`` holds of them (they are written after the delivery)."""
    deadline = time.monotonic() + timeout
    while True:
        records = [r for r in read_audit(kafka_at(bootstrap), prefix) if r.subscription == subscription]
        if until(records):
            return records
        assert time.monotonic() < deadline, f"the audit of {subscription} is incomplete: {len(records)} records"
        time.sleep(0.3)


def _headers(message: Message) -> dict[str, str]:
    return {name: (value or b"").decode() for name, value in message.headers() or []}


def _value(message: Message) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(message.value() or b"null")
    return document


def test_the_subscriber_reads_only_its_filtered_masked_events_and_nothing_after_a_revocation(
        kafka_bootstrap: str, registry_url: str, prefix: str, sharing: SharingStore,
        connector: Callable[[str], Running]) -> None:
    started = time.monotonic()
    writers = Writers(kafka_bootstrap, registry_url, prefix)
    taxes = writers.upserts(TAX, 60, seed=11)
    individuals = {key for key, record in taxes.items() if record["taxpayer_kind"] == "INDIVIDUAL"}
    assert individuals and individuals != set(taxes), "the filter keeps some records and drops others"
    kept_out = sorted(set(taxes) - individuals)
    deleted = sorted(individuals)[:2] + kept_out[:2]
    writers.deletes(TAX, deleted)
    enterprises = writers.upserts(ENTERPRISE, 5, seed=12)

    sharing.put_grant(_grant("kd-centre"))
    sharing.put_subscription(_subscription("kd", "kd-centre"))
    running = connector("kd")
    topic = delivery_topic("kd-centre", "kd", prefix)
    assert running.connector.topic == topic == f"{prefix}.delivery.kd-centre.kd"

    expected = Counter({(TAX, key, "UPSERT"): 1 for key in individuals})
    expected.update({(TAX, key, "DELETE"): 1 for key in deleted})  # deletes ignore the filter
    expected.update({(ENTERPRISE, key, "UPSERT"): 1 for key in enterprises})
    reader = Reader(kafka_bootstrap, topic)
    try:
        reader.read_until(lambda got: len(got) >= expected.total(), 30, f"{expected.total()} delivered events")
        reader.read_for(1.0)  # anything more would be a duplicate or unexpected
        first = list(reader.messages)
        got = Counter((_headers(m)["govbus.item"], (m.key() or b"").decode(), _headers(m)["govbus.operation"])
                      for m in first)
        lost, unexpected = expected - got, got - expected
        duplicated = sum(count - 1 for count in got.values() if count > 1)
        assert (len(lost), duplicated, len(unexpected)) == (0, 0, 0), (lost, unexpected)
        assert len(first) == expected.total() == len(individuals) + len(deleted) + len(enterprises)

        event_ids = Counter(_headers(m)["govbus.event_id"] for m in first)
        assert len(event_ids) == len(first), "every event once"
        for message in first:
            headers, value = _headers(message), _value(message)
            assert set(headers) == {"govbus.event_id", "govbus.item", "govbus.operation"}, "no record value"
            assert headers["govbus.event_id"] == value["event_id"] == value["idempotency_key"]
            assert (message.key() or b"").decode() == value["record_key"], "the key in clear (not personal)"
            if value["operation"] == "DELETE":
                assert value["record"] is None and value["masked_fields"] == []
            elif value["item"] == TAX:
                original = taxes[value["record_key"]]
                assert list(value["record"]) == TAX_FIELDS, "only the requested, granted fields"
                assert value["record"]["taxpayer_name"] == original["taxpayer_name"], "granted unmasked"
                resident_id = value["record"]["taxpayer_resident_id"]
                assert resident_id == mask_resident_id(str(original["taxpayer_resident_id"]))
                assert resident_id != original["taxpayer_resident_id"]
                assert value["masked_fields"] == ["taxpayer_resident_id"]
            else:
                assert value["record"] == {f: enterprises[value["record_key"]][f] for f in ("uscc", "name")}
        for key in sorted(individuals)[:2]:  # a record's events in order, on one partition
            ops = [(_value(m)["operation"], m.partition()) for m in first if (m.key() or b"").decode() == key]
            assert [op for op, _ in ops] == ["UPSERT", "DELETE"] and len({p for _, p in ops}) == 1

        audit = _audit_of("kd", kafka_bootstrap, prefix, until=lambda records: len(records) >= len(first))
        delivered = [r for r in audit if r.outcome is Outcome.DELIVERED]
        assert Counter(r.event_id for r in delivered) == event_ids, "each delivery audited once"
        assert len(audit) == len(delivered) == len(first), "filtered events are neither written nor audited"
        for record in delivered:
            assert record.connector == "kafka" and record.subscriber == "kd-centre"
            if record.item == TAX and record.operation == "UPSERT":
                assert record.grant_id == GRANT_ID
                assert record.fields_delivered == TAX_FIELDS and record.fields_masked == ["taxpayer_resident_id"]

        sharing.put_grant(_grant("kd-centre", revoked=True))
        deadline = time.monotonic() + 15
        while running.connector.authorisation().decide(TAX).plan is not None:
            assert time.monotonic() < deadline, "the connector did not notice the revocation"
            time.sleep(0.2)
        later_taxes = writers.upserts(TAX, 20, seed=13)
        later_enterprises = writers.upserts(ENTERPRISE, 3, seed=14)
        reader.read_until(lambda got: len(got) >= len(first) + len(later_enterprises), 30, "the unconditional item")

        audit = _audit_of("kd", kafka_bootstrap, prefix,
                          until=lambda records: sum(r.outcome is Outcome.REFUSED for r in records) >= len(later_taxes))
        reader.read_for(1.0)
        after = reader.messages[len(first):]
        assert sorted((m.key() or b"").decode() for m in after) == sorted(later_enterprises)
        assert not any(_headers(m)["govbus.item"] == TAX for m in after), "nothing of the revoked item"
        refused = [r for r in audit if r.outcome is Outcome.REFUSED]
        assert sorted(r.record_key for r in refused) == sorted(later_taxes), "every later tax event refused once"
        assert all("revoked" in (r.reason or "") and not r.fields_delivered for r in refused)
    finally:
        reader.close()
    print(f"\nkafka delivery: {len(first)} delivered ({len(individuals)} upserts kept by the filter of "
          f"{len(taxes)}, {len(deleted)} deletes, {len(enterprises)} enterprises), 0 lost, 0 duplicated, "
          f"0 unexpected, {len(delivered)} audited; after the revocation {len(later_taxes)} refused, "
          f"{len(later_enterprises)} enterprises delivered; {time.monotonic() - started:.1f} s")


def test_the_cli_adds_a_kafka_subscription_refuses_one_with_a_url_and_runs_only_kafka_deliveries(
        kafka_bootstrap: str, registry_url: str, prefix: str, sharing: SharingStore, tmp_path: Path) -> None:
    env = {**os.environ, "GOVBUS_KAFKA__BOOTSTRAP": kafka_bootstrap, "GOVBUS_REGISTRY__URL": registry_url,
           "GOVBUS_TOPIC_PREFIX": prefix, "COLUMNS": "200"}

    def govbus(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "govbus.cli", *args], env=env, capture_output=True, text=True,
                              timeout=120, check=False)

    declared = _subscription("kd-cli", "kd-cli-centre").model_dump(mode="json")
    declared["items"] = declared["items"][1:]  # the unconditional item only: no grant needed
    path = tmp_path / "kd-cli.yaml"
    path.write_text(yaml.safe_dump(declared), encoding="utf-8")
    added = govbus("subscriptions", "add", str(path))
    assert added.returncode == 0, added.stdout + added.stderr
    said = added.stdout + added.stderr
    assert f"delivered to the topic {prefix}.delivery.kd-cli-centre.kd-cli" in said
    assert "govbus run kafka-delivery kd-cli" in said

    declared["delivery"] = {"kind": "kafka", "url": "http://127.0.0.1:1/x"}
    path.write_text(yaml.safe_dump(declared), encoding="utf-8")
    refused = govbus("subscriptions", "add", str(path))
    assert refused.returncode != 0 and "a kafka delivery takes no url" in refused.stdout + refused.stderr

    sharing.put_subscription(_subscription("kd-hook", "kd-hook-centre", kind="webhook"))
    done = govbus("run", "kafka-delivery", "kd-hook")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "'kd-hook' is delivered by webhook, not by kafka" in done.stderr
    assert "govbus run webhook NAME" in done.stderr and "Traceback" not in done.stderr


def test_a_write_the_broker_refuses_stops_the_connector_uncommitted_and_a_restart_loses_nothing(
        kafka_bootstrap: str, registry_url: str, prefix: str, sharing: SharingStore,
        connector: Callable[[str], Running]) -> None:
    writers = Writers(kafka_bootstrap, registry_url, prefix)
    enterprises = writers.upserts(ENTERPRISE, 12, seed=21)
    topic = delivery_topic("kd-small-centre", "kd-small", prefix)
    # the delivery topic exists already and takes no message of this size: every write is refused for good
    ensure_topics(kafka_at(kafka_bootstrap), [TopicSpec(topic, 2, {"max.message.bytes": "64"})])
    sharing.put_subscription(_subscription("kd-small", "kd-small-centre"))

    error = connector("kd-small").ended(30)
    assert isinstance(error, DeliveryError) and "MSG_SIZE_TOO_LARGE" in str(error), error
    assert "nothing of this batch is committed" in str(error)
    assert _audit_of("kd-small", kafka_bootstrap, prefix, until=lambda _records: True) == [], "nothing delivered"

    resource = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[
        ConfigEntry("max.message.bytes", "1048588", incremental_operation=AlterConfigOpType.SET)])
    admin = clients.admin(kafka_at(kafka_bootstrap))  # kept alive until its answer arrived
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(30)
    connector("kd-small")
    reader = Reader(kafka_bootstrap, topic)
    try:
        reader.read_until(lambda got: len(got) >= len(enterprises), 30, "every event after the restart")
        reader.read_for(1.0)
        got = Counter((m.key() or b"").decode() for m in reader.messages)
        expected = Counter(enterprises.keys())
        assert got == expected, f"lost {expected - got}, duplicated or unexpected {got - expected}"
    finally:
        reader.close()
    audit = _audit_of("kd-small", kafka_bootstrap, prefix, until=lambda records: len(records) >= len(enterprises))
    assert sorted(r.record_key for r in audit if r.outcome is Outcome.DELIVERED) == sorted(enterprises)
