"""Person profiles over the webhook: the real profile worker builds them from canonical events, the real
connector delivers them to a signing receiver, shaped per side and masked as each side's grant says, a
tombstone as a DELETE; a subscription missing one side's grant is refused (CLI) and delivers nothing."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro
import httpx
import pytest
import yaml
from webhook_support import SigningReceiver, govbus_cli, metric, subscription, wait_for

from consumers.audit_reader import read_audit
from govbus.audit import Outcome
from govbus.demo.synthetic_items import records_for
from govbus.envelope import ChangeEvent, Operation
from govbus.platform.components import Component, start_component
from govbus.platform.processes import free_port
from govbus.sharing.model import Grant
from govbus.sharing.pseudonyms import PseudonymKey
from govbus.sharing.store import SharingStore
from govbus.topic_names import profile_topic
from govbus.topic_reader import read_topic
from schemas.catalogue import load_catalogue
from schemas.catalogue.profiles import HEADER_EVENT_ID, load_profile
from testsupport.connections import kafka_at
from testsupport.profile_inputs import CanonicalEvent, CanonicalProducer

CATALOGUE = load_catalogue()
PERSON = load_profile("person")
FIELDS = ["resident_id", "identity.name", "identity.gender", "identity.division_code",
          "degrees.certificate_number", "degrees.holder_name", "degrees.major",
          "real_estate_titles.certificate_number", "real_estate_titles.location"]
PATHS = ["resident_id", "identity.name", "identity.gender", "identity.division_code",
         "degree_certifications.certificate_number", "degree_certifications.holder_name",
         "degree_certifications.major", "real_estate_titles.certificate_number", "real_estate_titles.location"]


@dataclass
class People:
    """The canonical input of the module's profiles and what the profile topic ended with."""

    prefix: str
    kept: dict[str, Any]
    """the identity record of the person whose profile stays"""
    degrees: list[dict[str, Any]]
    title: dict[str, Any]
    deleted: str
    """the resident id whose identity record was deleted (tombstoned profile)"""
    messages: list[tuple[str, bytes | None, str]]
    """(key, value, govbus.event_id) of every profile message, in topic order per key"""


def _record(item: str, seed: int, wanted: Callable[[dict[str, Any]], bool] = lambda _r: True,
            **fields: Any) -> dict[str, Any]:
    """A valid synthetic record of ``item`` (the first from ``seed`` on that ``wanted`` accepts) with ``fields``."""
    for attempt in range(seed, seed + 200):
        base = records_for(CATALOGUE.get(item), 1, seed=attempt)[0].record
        if wanted(base):
            return CATALOGUE.get(item).validate({**base, **fields})
    raise AssertionError(f"no synthetic {item} record fits")


def _event(item: str, record: dict[str, Any] | None, key: str | None = None) -> CanonicalEvent:
    now = dt.datetime.now(dt.UTC)
    return CanonicalEvent(item, ChangeEvent(
        data_item=item, department=CATALOGUE.get(item).department, source_system="test",
        operation=Operation.UPSERT if record is not None else Operation.DELETE,
        record_key=key or CATALOGUE.get(item).key_of(record or {}), occurred_at=now, record=record))


def _profile_messages(bootstrap: str, topic: str) -> list[tuple[str, bytes | None, str]]:
    found = []
    for message in read_topic(kafka_at(bootstrap), topic, timeout=30):
        headers = {k: bytes(v or b"").decode() for k, v in (message.headers() or [])}
        found.append(((message.key() or b"").decode(), message.value(), headers.get(HEADER_EVENT_ID, "")))
    return found


def _decode(value: bytes) -> dict[str, Any]:
    decoded = fastavro.schemaless_reader(io.BytesIO(value[5:]), fastavro.parse_schema(PERSON.schema), None)
    assert isinstance(decoded, dict)
    return decoded


def _settled(messages: list[tuple[str, bytes | None, str]], kept: str, deleted: str) -> bool:
    last = {key: value for key, value, _ in messages}
    if kept not in last or deleted not in last or last[deleted] is not None or last[kept] is None:
        return False
    profile = _decode(last[kept])
    return len(profile["degree_certifications"]) == 2 and len(profile["real_estate_titles"]) == 1


@pytest.fixture(scope="module")
def people(kafka_bootstrap: str, registry_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[People]:
    """The real profile worker (person profile only) builds the profiles of two people: one with two
    degrees and a real-estate title, one whose identity record is deleted again."""
    directory = tmp_path_factory.mktemp("webhook-profiles")
    prefix = f"govbus.t-{uuid.uuid4().hex[:10]}"
    env = {"GOVBUS_KAFKA__BOOTSTRAP": kafka_bootstrap, "GOVBUS_REGISTRY__URL": registry_url,
           "GOVBUS_TOPIC_PREFIX": prefix, "GOVBUS_PROFILES_APP_ID": f"profiles-{uuid.uuid4().hex[:8]}",
           "GOVBUS_PROFILES_NAMES": '["person"]', "GOVBUS_PROFILES_PARTITIONS": "3",
           "GOVBUS_PROFILES_METRICS_PORT": str(free_port()), "GOVBUS_STREAMS_STATE_DIR": str(directory / "state"),
           "GOVBUS_LOG_LEVEL": "INFO"}
    worker = start_component("profiles", "streams.profiles", env, directory / "profiles.log")
    try:
        wait_for(lambda: "profile topics ready" in worker.log_path.read_text(errors="replace"), 60,
                 "the profile worker's topics", worker.log_path)
        kept, gone = _record("identity_verification", 11), _record("identity_verification", 12)
        holder = {"holder_resident_id": kept["resident_id"], "holder_name": kept["name"]}
        degrees = [_record("degree_certification", 21 + i, **holder) for i in range(2)]
        title = _record("real_estate_registration", 31, lambda r: r.get("owner_resident_id") is not None,
                        owner_resident_id=kept["resident_id"], owner_name=kept["name"])
        other_degree = _record("degree_certification", 41, holder_resident_id=gone["resident_id"],
                               holder_name=gone["name"])
        producer, topic = CanonicalProducer(kafka_bootstrap, registry_url, prefix), profile_topic("person", prefix)
        producer.produce([_event("identity_verification", kept), _event("identity_verification", gone)])
        wait_for(lambda: {k for k, _, _ in _profile_messages(kafka_bootstrap, topic)} == {kept["resident_id"],
                 gone["resident_id"]}, 120, "both anchors' profiles", worker.log_path)
        producer.produce([*[_event("degree_certification", d) for d in degrees],
                          _event("real_estate_registration", title), _event("degree_certification", other_degree)])
        wait_for(lambda: len(_profile_messages(kafka_bootstrap, topic)) == 6, 60, "a version per side record",
                 worker.log_path)
        producer.produce([_event("identity_verification", None, gone["resident_id"])])
        wait_for(lambda: _settled(_profile_messages(kafka_bootstrap, topic), kept["resident_id"],
                                  gone["resident_id"]), 60, "the tombstone", worker.log_path)
        yield People(prefix, kept, degrees, title, gone["resident_id"], _profile_messages(kafka_bootstrap, topic))
    finally:
        worker.stop(timeout=15)
    assert not worker.alive()


@pytest.fixture
def webhook_env(webhook_env: dict[str, str], people: People) -> dict[str, str]:
    """The connectors of this module read the profiles the module's worker built."""
    return {**webhook_env, "GOVBUS_TOPIC_PREFIX": people.prefix}


def _grant(grant_id: str, subscriber: str, item: str, approved_by: str, fields: list[str],
           unmasked: list[str]) -> Grant:
    return Grant.model_validate({"grant_id": grant_id, "subscriber": subscriber, "item": item,
                                 "approved_by": approved_by, "purpose": "residence permit checks", "fields": fields,
                                 "unmasked": unmasked, "expires_at": dt.datetime.now(dt.UTC) + dt.timedelta(days=30)})


def _grants(subscriber: str, titles: bool = True) -> list[Grant]:
    grants = [_grant(f"{subscriber}-id", subscriber, "identity_verification", "public-security",
                     ["resident_id", "name", "gender", "division_code"], ["name"]),
              _grant(f"{subscriber}-edu", subscriber, "degree_certification", "education",
                     ["certificate_number", "holder_name", "major"], [])]
    if titles:
        grants.append(_grant(f"{subscriber}-re", subscriber, "real_estate_registration", "natural-resources",
                             ["certificate_number", "location"], ["certificate_number"]))
    return grants


def _counted(port: int, name: str, **labels: str) -> float:
    """A connector's metric, or -1 while its metrics server is not up yet."""
    try:
        return metric(port, name, **labels)
    except httpx.ConnectError:
        return -1.0


def _pseudonym(pseudonym_key: PseudonymKey, key: str) -> str:
    """The pseudonym of person ``key`` for subscriber people-centre (the platform's key, not the signing secret)."""
    return pseudonym_key.for_subscriber("people-centre").of("profile:person", key)


def _masked_id(resident_id: str) -> str:
    return resident_id[:6] + "*" * 8 + resident_id[-4:]


def _masked_name(name: str) -> str:
    return name[0] + "*" * (len(name) - 1)


def test_a_subscriber_granted_every_side_receives_profiles_masked_as_granted_and_tombstones_as_deletes(
        people: People, sharing: SharingStore, connectors: Callable[..., Component], secret: str,
        kafka_bootstrap: str, pseudonym_key: PseudonymKey) -> None:
    for grant in _grants("people-centre"):
        sharing.put_grant(grant)
    with SigningReceiver(secret) as receiver:
        sharing.put_subscription(subscription("people", receiver.url, {"item": "profile:person", "fields": FIELDS}))
        connector = connectors("people", free_port())
        event_ids = {event_id for _, _, event_id in people.messages}
        wait_for(lambda: set(receiver.received.applied) >= event_ids, 60, "every profile event", connector.log_path)

    kept_id = people.kept["resident_id"]
    applied = receiver.received.applied
    assert set(applied) == event_ids, "one delivered event per profile message, by its govbus.event_id"
    kept = [applied[e] for k, _, e in people.messages if k == kept_id]
    assert {e["record_key"] for e in kept} == {_pseudonym(pseudonym_key, kept_id)}, "the masked key is pseudonymised"
    last = kept[-1]
    assert last["operation"] == "UPSERT" and last["item"] == "profile:person"
    by_number = sorted(last["record"]["degree_certifications"], key=lambda d: d["certificate_number"])
    assert by_number == sorted(({"certificate_number": d["certificate_number"], "major": d["major"],
                                 "holder_name": _masked_name(d["holder_name"])} for d in people.degrees),
                               key=lambda d: d["certificate_number"]), "granted fields, the holder's name masked"
    assert {k: v for k, v in last["record"].items() if k != "degree_certifications"} == {
        "resident_id": _masked_id(kept_id),
        "identity": {"name": people.kept["name"], "gender": people.kept["gender"],
                     "division_code": people.kept["division_code"]},
        "real_estate_titles": [{"certificate_number": people.title["certificate_number"],
                                "location": last["record"]["real_estate_titles"][0]["location"]}]}
    location = last["record"]["real_estate_titles"][0]["location"]
    assert location != people.title["location"] and location.endswith("******"), "an address is masked"
    assert last["masked_fields"] == ["resident_id", "degree_certifications.holder_name",
                                     "real_estate_titles.location"]
    assert kept_id not in json.dumps(applied, ensure_ascii=False), "the resident id never leaves in clear"

    gone = [applied[e] for k, _, e in people.messages if k == people.deleted]
    assert gone[-1]["operation"] == "DELETE" and gone[-1]["record"] is None
    assert gone[-1]["record_key"] == _pseudonym(pseudonym_key, people.deleted)

    audit = {r.event_id: r for r in read_audit(kafka_at(kafka_bootstrap), people.prefix) if r.subscription == "people"}
    assert set(audit) == event_ids
    last_audit = audit[next(e for k, _, e in reversed(people.messages) if k == kept_id)]
    assert last_audit.outcome is Outcome.DELIVERED and last_audit.item == "profile:person"
    assert last_audit.record_key == kept_id, "the audit is internal: the key in clear"
    assert last_audit.fields_delivered == PATHS and last_audit.fields_masked == last["masked_fields"]
    assert last_audit.grant_id == "people-centre-id, people-centre-edu, people-centre-re"
    tombstone_audit = audit[next(e for k, _, e in reversed(people.messages) if k == people.deleted)]
    assert tombstone_audit.operation == "DELETE" and tombstone_audit.fields_delivered == []


def test_a_missing_side_grant_refuses_the_subscription_and_a_partial_one_skips_unplanned_sides(
        people: People, sharing: SharingStore, connectors: Callable[..., Component], secret: str,
        kafka_bootstrap: str, webhook_env: dict[str, str], tmp_path: Path) -> None:
    for grant in _grants("partial-centre", titles=False):
        sharing.put_grant(grant)
    with SigningReceiver(secret) as receiver:
        declared = subscription("partial", receiver.url, {"item": "profile:person", "fields": FIELDS})
        path = tmp_path / "partial.yaml"
        path.write_text(yaml.safe_dump(declared.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
        added = govbus_cli("subscriptions", "add", str(path), env=webhook_env)
        assert added.returncode == 1, added.stdout + added.stderr
        refusal = " ".join((added.stdout + added.stderr).split())
        assert "side real_estate_titles: real_estate_registration is shared conditionally: partial-centre needs a " \
               "grant approved by natural-resources" in refusal
        assert "side identity" not in refusal and "side degrees" not in refusal, "granted sides are no reason"

        sharing.put_subscription(declared)  # stored all the same: the connector refuses every profile event
        port = free_port()
        refused = connectors("partial", port)
        wait_for(lambda: _counted(port, "govbus_webhook_refused_total", item="profile:person")
                 == len(people.messages), 60, "every profile event refused", refused.log_path)
        assert receiver.received.applied == {} and receiver.received.requests == []
        audit = [r for r in read_audit(kafka_at(kafka_bootstrap), people.prefix) if r.subscription == "partial"]
        assert len(audit) == len(people.messages) and all(r.outcome is Outcome.REFUSED for r in audit)
        assert all("side real_estate_titles" in (r.reason or "") and not r.fields_delivered for r in audit)

        narrower = [f for f in FIELDS if not f.startswith("real_estate_titles.")]
        sharing.put_subscription(subscription("identity-degrees", receiver.url,
                                              {"item": "profile:person", "fields": narrower}))
        for grant in _grants("identity-degrees-centre", titles=False):
            sharing.put_grant(grant)
        port = free_port()
        narrow = connectors("identity-degrees", port)
        caused_by_title = {e for k, v, e in people.messages if v is not None
                           and _decode(v)["caused_by"]["data_item"] == "real_estate_registration"}
        assert caused_by_title, "the title's profile version exists"
        wanted = {e for _, _, e in people.messages} - caused_by_title
        wait_for(lambda: set(receiver.received.applied) >= wanted, 60, "the identity and degree versions",
                 narrow.log_path)
        wait_for(lambda: _counted(port, "govbus_webhook_filtered_total", item="profile:person") == len(caused_by_title),
                 10, "the title's version skipped")
        assert set(receiver.received.applied) == wanted, "a version caused by an unplanned side is not sent"
        assert all("real_estate_titles" not in (e["record"] or {}) for e in receiver.received.applied.values())
