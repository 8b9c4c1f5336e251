"""The mirror against a real broker, registry and PostgreSQL, run as ``python -m connectors.pg_mirror``."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from mirror_support import MirrorProcess, as_rows, keyed_rows, table_columns, table_rows, wait_for

from consumers.audit_reader import read_audit
from govbus import clients
from govbus.audit import Outcome
from govbus.sharing.masking import mask
from govbus.sharing.model import Grant, Subscription
from govbus.sharing.store import SharingStore
from schemas.catalogue import DataItem, load_catalogue
from testsupport.canonical import CanonicalWriter, Step, change_scenario, last_state
from testsupport.connections import kafka_at, registry_at


def converged(dsn: str, table: str, expected: dict[str, dict[str, Any]], key_fields: tuple[str, ...],
              jsonb: set[str]) -> Callable[[], bool]:
    want = as_rows(expected, jsonb)
    return lambda: keyed_rows(table_rows(dsn, table), key_fields) == want


def test_mirror_converges_to_the_last_state_per_key(canonical: Callable[..., CanonicalWriter],
                                                      mirror: Callable[..., MirrorProcess], mirror_dsn: str,
                                                      kafka_bootstrap: str, topic_prefix: str) -> None:
    item = load_catalogue().get("real_estate_registration")
    writer = canonical(item.name, partitions=3)
    steps = change_scenario(item, keys=300, updates=300, deletes=60, tombstones=20, seed=5)
    writer.write(steps[:400])  # some before the mirror starts, the rest while it runs
    process = mirror(GOVBUS_MIRROR_ITEM=item.name, GOVBUS_MIRROR_DSN=mirror_dsn, GOVBUS_MIRROR_TABLE="titles")
    writer.write(steps[400:])
    expected = last_state(steps)
    assert 200 < len(expected) < 300
    wait_for(converged(mirror_dsn, "titles", expected, item.key_fields, {"encumbrances"}), 60,
             "the table to equal the last state per key", process)

    columns = table_columns(mirror_dsn, "titles")
    assert list(columns) == [f["name"] for f in item.record_schema["fields"]]
    assert columns["registered_on"][:2] == ("date", False)
    assert columns["land_area_dm2"][:2] == ("int8", False)
    assert columns["floor_area_dm2"][:2] == ("int8", True)
    assert columns["land_use_ends_on"][:2] == ("date", True)
    assert columns["right_type"][:2] == ("text", False)
    assert columns["encumbrances"][:2] == ("jsonb", False)
    wait_for(lambda: process.metric("govbus_mirror_lag_events") == 0, 15, "the lag gauge to reach 0", process)
    assert process.metric("govbus_mirror_rows_upserted_total", table="titles") >= len(expected)
    assert process.metric("govbus_mirror_rows_deleted_total", table="titles") >= 1
    assert process.metric("govbus_mirror_batches_total") >= 1
    # an export of whole records in clear: only an operator (here the administrator) runs it, and it is audited
    audited = [r for r in read_audit(kafka_at(kafka_bootstrap), topic_prefix)
               if r.subscriber == "export.admin" and r.item == item.name]
    assert {r.record_key for r in audited} >= set(expected), "every row it wrote is audited"

    department = mirror(GOVBUS_MIRROR_ITEM=item.name, GOVBUS_MIRROR_DSN=mirror_dsn,
                        GOVBUS_KAFKA__USERNAME="department.natural-resources")
    wait_for(lambda: not department.alive(), 30, "the mirror to refuse a department's item export")
    assert "run it as the operator" in department.log()


def test_subscription_mirror_has_only_planned_fields_masked(
        canonical: Callable[..., CanonicalWriter], mirror: Callable[..., MirrorProcess], mirror_dsn: str,
        kafka_bootstrap: str, topic_prefix: str) -> None:
    item = load_catalogue().get("credit_record")
    writer = canonical(item.name, partitions=2)
    fields = ["decision_number", "decision_kind", "subject_name", "subject_resident_id", "fine_cents", "decided_on"]
    store = SharingStore(kafka_at(kafka_bootstrap), topic_prefix)
    store.put_subscription(Subscription.model_validate({
        "name": "credit-mirror", "subscriber": "city-credit-office",
        "items": [{"item": item.name, "fields": fields, "filter": {"equals": {"decision_kind": ["PENALTY"]}}}],
        "delivery": {"kind": "postgres", "dsn_env": "CREDIT_MIRROR_DSN", "table_prefix": "gov_"},
    }))
    steps = change_scenario(item, keys=120, updates=80, deletes=20, seed=9)
    writer.write(steps)
    process = mirror(GOVBUS_MIRROR_SUBSCRIPTION="credit-mirror", CREDIT_MIRROR_DSN=mirror_dsn)

    masked = {"subject_name": "name", "subject_resident_id": "resident_id"}
    expected = {key: {f: mask(masked[f], record[f]) if f in masked else record[f] for f in fields}
                for key, record in last_state(steps).items() if record["decision_kind"] == "PENALTY"}
    assert 10 < len(expected)
    wait_for(converged(mirror_dsn, "gov_credit_record", expected, item.key_fields, set()), 60,
             "the subscription's table to hold the planned, masked fields of matching records", process)
    columns = table_columns(mirror_dsn, "gov_credit_record")
    assert list(columns) == fields
    assert columns["decided_on"][0] == "date"
    rows = table_rows(mirror_dsn, "gov_credit_record")
    assert any(r["subject_resident_id"] and "*" in r["subject_resident_id"] for r in rows)
    assert all(r["subject_name"] is None or r["subject_name"][1:] == "*" * (len(r["subject_name"]) - 1) for r in rows)

    audit = [r for r in read_audit(kafka_at(kafka_bootstrap), topic_prefix) if r.subscription == "credit-mirror"]
    assert {r.connector for r in audit} == {"postgres"} and {r.outcome for r in audit} == {Outcome.DELIVERED}
    upserts = [r for r in audit if r.operation == "UPSERT"]
    assert set(expected) <= {r.record_key for r in upserts}
    assert all(r.fields_delivered == fields and "subject_name" in r.fields_masked for r in upserts)


def widened_event_schema(item: DataItem) -> dict[str, Any]:
    """The item's envelope with two more record fields, both with defaults (a BACKWARD-compatible step)."""
    schema = item.event_schema()
    record_field = next(f for f in schema["fields"] if f["name"] == "record")
    record = next(b for b in record_field["type"] if b != "null")
    record["fields"] += [
        {"name": "remarks", "type": ["null", "string"], "default": None, "doc": "Free remarks."},
        {"name": "bid_count", "type": "int", "default": 1, "doc": "How many bids the lot received."},
    ]
    return schema


def test_table_widens_when_the_schema_gains_a_field(canonical: Callable[..., CanonicalWriter],
                                                     mirror: Callable[..., MirrorProcess], mirror_dsn: str) -> None:
    item = load_catalogue().get("government_procurement_award")
    old_writer = canonical(item.name, partitions=1)
    steps = change_scenario(item, keys=40, updates=10, seed=3)
    old_writer.write(steps)
    process = mirror(GOVBUS_MIRROR_ITEM=item.name, GOVBUS_MIRROR_DSN=mirror_dsn)
    table = "government_procurement_award"
    wait_for(converged(mirror_dsn, table, last_state(steps), item.key_fields, set()), 60, "the first version", process)
    assert "remarks" not in table_columns(mirror_dsn, table)

    new_writer = canonical(item.name, partitions=1, event_schema=widened_event_schema(item))
    assert new_writer.schema_id != old_writer.schema_id
    old_state = last_state(steps)
    keys = sorted(old_state)
    new_steps = [Step("UPSERT", key, {**old_state[key], "remarks": f"note {n}", "bid_count": 3 + n})
                 for n, key in enumerate(keys[:10])]
    new_writer.write(new_steps)
    expected = {key: {**record, "remarks": None, "bid_count": 1} for key, record in old_state.items()}
    expected.update(last_state(new_steps))
    wait_for(converged(mirror_dsn, table, expected, item.key_fields, set()), 60,
             "the widened table to hold the new fields (defaults on rows written before)", process)
    columns = table_columns(mirror_dsn, table)
    assert list(columns)[-2:] == ["remarks", "bid_count"]
    assert columns["remarks"][:2] == ("text", True)
    assert columns["bid_count"][0] == "int8" and columns["bid_count"][2] == "1"
    assert columns["announced_at"][0] == "timestamptz"
    assert process.metric("govbus_mirror_columns_added_total", table=table) == len(columns)

    # an event written with the old schema again: the new columns go back to their defaults
    first = keys[0]
    again = [Step("UPSERT", first, {**old_state[first], "project_name": "重新公告"},
                  published_at=dt.datetime.now(dt.UTC))]
    old_writer.write(again)
    expected[first] = {**again[0].record, "remarks": None, "bid_count": 1}  # type: ignore[dict-item]
    wait_for(converged(mirror_dsn, table, expected, item.key_fields, set()), 30,
             "an old-schema event to reset the new columns to their defaults", process)


def test_a_revoked_grant_pauses_the_mirror_until_granted_again(
        canonical: Callable[..., CanonicalWriter], mirror: Callable[..., MirrorProcess], mirror_dsn: str,
        kafka_bootstrap: str, topic_prefix: str) -> None:
    item = load_catalogue().get("tax_payment_certificate")
    writer = canonical(item.name, partitions=1)
    fields = ["certificate_number", "taxpayer_name", "amount_cents", "paid_at"]
    store = SharingStore(kafka_at(kafka_bootstrap), topic_prefix)
    store.put_subscription(Subscription.model_validate({
        "name": "tax-mirror", "subscriber": "housing-office", "items": [{"item": item.name, "fields": fields}],
        "delivery": {"kind": "postgres", "dsn_env": "TAX_MIRROR_DSN"}}))
    grant = Grant.model_validate({
        "grant_id": "tax-1", "subscriber": "housing-office", "item": item.name, "approved_by": "taxation",
        "purpose": "housing purchase qualification checks", "fields": fields,
        "expires_at": "2099-01-01T00:00:00+08:00"})
    store.put_grant(grant)
    steps = change_scenario(item, keys=70, seed=4)
    writer.write(steps[:50])
    process = mirror(GOVBUS_MIRROR_SUBSCRIPTION="tax-mirror", TAX_MIRROR_DSN=mirror_dsn,
                     GOVBUS_MIRROR_SHARING_REFRESH="0.5")
    wait_for(lambda: len(table_rows(mirror_dsn, "tax_payment_certificate")) == 50, 60, "the granted rows", process)

    store.put_grant(grant.model_copy(update={"revoked": True}))
    wait_for(lambda: "mirror paused" in process.log(), 30, "the mirror to pause", process)
    writer.write(steps[50:])
    time.sleep(3)
    assert len(table_rows(mirror_dsn, "tax_payment_certificate")) == 50

    store.put_grant(grant)
    wait_for(lambda: len(table_rows(mirror_dsn, "tax_payment_certificate")) == 70, 60,
             "the rows written while revoked, once granted again", process)
    rows = table_rows(mirror_dsn, "tax_payment_certificate")
    assert all(set(row) == set(fields) and "*" in row["taxpayer_name"] for row in rows)


def test_a_profile_is_mirrored_and_tombstones_delete(mirror: Callable[..., MirrorProcess], mirror_dsn: str,
                                                     kafka_bootstrap: str, registry_url: str,
                                                     topic_prefix: str) -> None:

    from govbus.demo.synthetic_items import records_for
    from govbus.serde import WireEncoder
    from govbus.topic_names import profile_topic
    from govbus.topics import TopicSpec, ensure_topics
    from schemas.catalogue.profiles import load_profile

    profile = load_profile("enterprise")
    topic = profile_topic("enterprise", topic_prefix)
    ensure_topics(kafka_at(kafka_bootstrap), [TopicSpec(topic, 2, {"cleanup.policy": "compact"})])
    encoder = WireEncoder(clients.registry_client(registry_at(registry_url)), f"{topic}-value", profile.schema)
    item = load_catalogue().get("enterprise_registration")
    registrations = [item.validate(r.record) for r in records_for(item, 6, seed=2)]
    now = dt.datetime.now(dt.UTC)
    producer = clients.producer(kafka_at(kafka_bootstrap))
    for n, registration in enumerate(registrations):
        value = {"event_id": f"00000000-0000-0000-0000-{n:012d}", "uscc": registration["uscc"],
                 "caused_by": {"event_id": f"00000000-0000-0000-0001-{n:012d}", "data_item": item.name,
                               "operation": "UPSERT", "record_key": registration["uscc"], "occurred_at": now},
                 "registration": registration, "latest_tax_payment_certificate": None,
                 "tax_payment_certificate_count": n, "credit_records": [], "procurement_awards": []}
        producer.produce(topic, key=registration["uscc"].encode(), value=encoder.encode(value))
    producer.produce(topic, key=registrations[0]["uscc"].encode(), value=None)
    assert producer.flush(30) == 0
    process = mirror(GOVBUS_MIRROR_ITEM="profile:enterprise", GOVBUS_MIRROR_DSN=mirror_dsn)
    expected = {r["uscc"]: n for n, r in enumerate(registrations) if n}
    wait_for(lambda: {r["uscc"]: r["tax_payment_certificate_count"]
                      for r in table_rows(mirror_dsn, "profile_enterprise")} == expected, 60,
             "the profiles but the tombstoned one", process)
    row = table_rows(mirror_dsn, "profile_enterprise")[0]
    assert row["registration"]["uscc"] == row["uscc"] and row["credit_records"] == []


def test_an_undecodable_event_stops_the_mirror_unless_skipping(
        canonical: Callable[..., CanonicalWriter], mirror: Callable[..., MirrorProcess], mirror_dsn: str,
        kafka_bootstrap: str) -> None:

    item = load_catalogue().get("mining_right_transfer")
    writer = canonical(item.name, partitions=1)
    steps = change_scenario(item, keys=20, seed=6)
    writer.write(steps[:10])
    producer = clients.producer(kafka_at(kafka_bootstrap))
    producer.produce(writer.topic, key=b"x", value=b"not avro at all")
    assert producer.flush(30) == 0
    writer.write(steps[10:])

    stopped = mirror(GOVBUS_MIRROR_ITEM=item.name, GOVBUS_MIRROR_DSN=mirror_dsn, GOVBUS_MIRROR_BATCH_SIZE="5")
    wait_for(lambda: not stopped.alive(), 60, "the mirror to stop on the bad event")
    assert f"record {writer.topic}[0]@10 cannot be handled by mirror:" in stopped.log()
    written = keyed_rows(table_rows(mirror_dsn, item.name), item.key_fields)
    assert set(written) <= {step.key for step in steps[:10]}  # batches before it at most, nothing after

    skipping = mirror(GOVBUS_MIRROR_ITEM=item.name, GOVBUS_MIRROR_DSN=mirror_dsn, GOVBUS_MIRROR_BAD_EVENTS="skip")
    wait_for(converged(mirror_dsn, item.name, last_state(steps), item.key_fields, set()), 60,
             "every good event, the bad one skipped", skipping)
    assert skipping.metric("govbus_mirror_errors_total", cause="bad_event") == 1
