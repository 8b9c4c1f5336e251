"""The mirror in subscription mode with a profile: one row per profile key, only the planned sides and
fields (jsonb per side, personal fields masked as each side's grant says), the filter on the anchor
record, tombstones delete, every written row audited with the dotted fields it masked."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from mirror_support import MirrorProcess, table_columns, table_rows, wait_for

from consumers.audit_reader import read_audit
from govbus import clients
from govbus.audit import Outcome
from govbus.demo.synthetic_items import records_for
from govbus.serde import WireEncoder
from govbus.sharing.model import Grant, Subscription
from govbus.sharing.store import SharingStore
from govbus.topic_names import profile_topic
from govbus.topics import TopicSpec, ensure_topics
from schemas.catalogue import load_catalogue
from schemas.catalogue.profiles import load_profile
from testsupport.connections import kafka_at, registry_at

CATALOGUE = load_catalogue()
SUBSCRIBER = "residence-office"


def _person(seed: int, division_code: str) -> dict[str, Any]:
    identity = CATALOGUE.get("identity_verification")
    record = identity.validate({**records_for(identity, 1, seed=seed)[0].record, "division_code": division_code})
    degree_item = CATALOGUE.get("degree_certification")
    degree = degree_item.validate({**records_for(degree_item, 1, seed=seed)[0].record,
                                   "holder_resident_id": record["resident_id"], "holder_name": record["name"]})
    return {"resident_id": record["resident_id"], "identity": record, "degree_certifications": [degree],
            "real_estate_titles": []}


def _grant(grant_id: str, item: str, approved_by: str, fields: list[str], unmasked: list[str]) -> Grant:
    return Grant.model_validate({"grant_id": grant_id, "subscriber": SUBSCRIBER, "item": item,
                                 "approved_by": approved_by, "purpose": "residence permit register",
                                 "fields": fields, "unmasked": unmasked,
                                 "expires_at": dt.datetime.now(dt.UTC) + dt.timedelta(days=30)})


def test_a_profile_subscription_mirrors_planned_sides_masked_per_grant(
        mirror: Callable[..., MirrorProcess], mirror_dsn: str, kafka_bootstrap: str, registry_url: str,
        topic_prefix: str) -> None:
    topic = profile_topic("person", topic_prefix)
    ensure_topics(kafka_at(kafka_bootstrap), [TopicSpec(topic, 2, {"cleanup.policy": "compact"})])
    encoder = WireEncoder(clients.registry_client(registry_at(registry_url)), f"{topic}-value",
                          load_profile("person").schema)
    people = [_person(1, "330106"), _person(2, "330106"), _person(3, "110105"), _person(4, "330108")]
    producer = clients.producer(kafka_at(kafka_bootstrap))
    now = dt.datetime.now(dt.UTC)
    for person in people:
        cause = {"event_id": str(uuid.uuid4()), "data_item": "identity_verification", "operation": "UPSERT",
                 "record_key": person["resident_id"], "occurred_at": now}
        producer.produce(topic, key=person["resident_id"].encode(),
                         value=encoder.encode({**person, "event_id": str(uuid.uuid4()), "caused_by": cause}))
    producer.produce(topic, key=people[3]["resident_id"].encode(), value=None)
    assert producer.flush(30) == 0

    store = SharingStore(kafka_at(kafka_bootstrap), topic_prefix)
    store.put_grant(_grant("id-7", "identity_verification", "public-security", ["resident_id", "name", "birth_date",
                                                                               "division_code"], ["resident_id"]))
    store.put_grant(_grant("edu-7", "degree_certification", "education", ["certificate_number", "holder_name",
                                                                           "major"], []))
    store.put_subscription(Subscription.model_validate({
        "name": "residence-mirror", "subscriber": SUBSCRIBER,
        "items": [{"item": "profile:person", "fields": ["resident_id", "identity.name", "identity.birth_date",
                                                        "degrees.certificate_number", "degrees.holder_name"],
                   "filter": {"division_prefix": "3301"}}],
        "delivery": {"kind": "postgres", "dsn_env": "RESIDENCE_DSN", "table_prefix": "res_"}}))
    process = mirror(GOVBUS_MIRROR_SUBSCRIPTION="residence-mirror", RESIDENCE_DSN=mirror_dsn)

    kept = {p["resident_id"]: p for p in people[:2]}  # people[2]: another division; people[3]: tombstoned
    wait_for(lambda: {r["resident_id"] for r in table_rows(mirror_dsn, "res_profile_person")} == set(kept), 60,
             "the matching profiles (not the other division's, not the tombstoned one)", process)
    assert list(table_columns(mirror_dsn, "res_profile_person")) == ["resident_id", "identity",
                                                                      "degree_certifications"]
    for row in table_rows(mirror_dsn, "res_profile_person"):
        person = kept[row["resident_id"]]
        name = person["identity"]["name"]
        assert row["identity"] == {"name": name[0] + "*" * (len(name) - 1), "birth_date": "******"}
        assert row["degree_certifications"] == [{
            "certificate_number": person["degree_certifications"][0]["certificate_number"],
            "holder_name": name[0] + "*" * (len(name) - 1)}]

    def audited() -> list[Any]:
        return [r for r in read_audit(kafka_at(kafka_bootstrap), topic_prefix) if r.subscription == "residence-mirror"]

    wait_for(lambda: len(audited()) >= 2, 30, "the audit records")
    records = audited()
    upserts = [r for r in records if r.operation == "UPSERT"]
    tombstoned = people[3]["resident_id"]  # in the division too: written (unless folded into its delete), deleted
    assert set(kept) <= {r.record_key for r in upserts} <= {*kept, tombstoned}
    assert {r.record_key for r in records if r.operation == "DELETE"} <= {tombstoned}
    assert people[2]["resident_id"] not in {r.record_key for r in records}, "another division: never delivered"
    for record in upserts:
        assert record.outcome is Outcome.DELIVERED and record.item == "profile:person"
        assert record.grant_id == "id-7, edu-7"
        assert record.fields_delivered == ["resident_id", "identity", "degree_certifications"]
        assert record.fields_masked == ["identity.name", "identity.birth_date", "degree_certifications.holder_name"]


def test_a_profile_subscription_without_the_key_in_clear_is_refused(
        mirror: Callable[..., MirrorProcess], mirror_dsn: str, kafka_bootstrap: str, topic_prefix: str) -> None:
    store = SharingStore(kafka_at(kafka_bootstrap), topic_prefix)
    store.put_grant(_grant("id-8", "identity_verification", "public-security", ["resident_id", "name"], []))
    store.put_subscription(Subscription.model_validate({
        "name": "masked-mirror", "subscriber": SUBSCRIBER,
        "items": [{"item": "profile:person", "fields": ["resident_id", "identity.name"]}],
        "delivery": {"kind": "postgres", "dsn_env": "MASKED_DSN"}}))
    process = mirror(GOVBUS_MIRROR_SUBSCRIPTION="masked-mirror", MASKED_DSN=mirror_dsn)
    wait_for(lambda: not process.alive(), 60, "the mirror to refuse the subscription")
    assert "the key field(s) resident_id of profile:person are personal and masked" in process.log()
