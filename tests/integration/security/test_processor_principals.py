"""The stream processors and the operator on a secured broker, each as its own principal with only the ACLs of
:mod:`govbus.sharing.processor_access`.

A department publishes registrations and a poison record to its department topic; the real normaliser
(``python -m streams.normaliser`` as ``processor.normaliser``) turns them into canonical events and a dead
letter, and the real profile builder (``python -m streams.profiles`` as ``processor.profiles``) turns the
canonical events into enterprise profiles. The administrator creates only the catalogue's topics (as
``govbus topics sync`` would): each processor creates its own changelogs and repartition topics. Then each
principal is refused what is not its own, and the operator sees offsets, groups and the audit but writes
nothing and reads no record of a data topic.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, Message, TopicPartition
from confluent_kafka.admin import ConfigResource, NewTopic, OffsetSpec, ResourceType
from processor_support import (
    NORMALISER_MODULE,
    PROFILES_MODULE,
    Workers,
    read_outcome,
    registry_env,
    wait_until,
    write_outcome,
)
from security_support import SecuredBroker

from consumers.audit_reader import read_audit
from govbus import clients
from govbus.audit import AuditRecord, Outcome, audit_topic_spec
from govbus.connection import KafkaConnection
from govbus.demo.dialect_samples import change_event, samples
from govbus.identities import principal_key, user_name
from govbus.serde import WireDecoder, WireEncoder
from govbus.sharing import principals
from govbus.sharing.processor_access import (
    NORMALISER,
    PROFILES,
    operator_acls,
    operator_user,
    processor_acls,
    processor_user,
)
from govbus.topic_names import (
    audit_topic,
    canonical_topic,
    dead_letter_topic,
    parked_topic,
    profile_topic,
    value_subject,
)
from govbus.topic_reader import read_topic
from govbus.topics import TopicSpec, ensure_topics
from schemas.catalogue import load_catalogue
from streams.dead_letters import DeadLetter
from streams.dialects import get_dialect
from streams.normalising.settings import NormaliserSettings
from streams.normalising.topics import normaliser_topics
from streams.profiles.topology import ProfileSettings, ProfileTopology
from testsupport.connections import produce_one, registry_at

ITEM = "enterprise_registration"
DEPARTMENT = load_catalogue().get(ITEM).department
PROFILE = "enterprise"
REGISTRATIONS = 3
POISON = b"this is not Avro"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Bus:
    """The secured node with its principals provisioned and the catalogue's topics created by the administrator."""

    node: SecuredBroker
    prefix: str
    normaliser_app: str
    profiles_app: str
    connections: dict[str, KafkaConnection]
    """``normaliser``, ``profiles``, ``department``, ``operator``, ``admin``"""

    @property
    def department_topic(self) -> str:
        return get_dialect(ITEM, "canonical").topic(self.prefix)

    @property
    def control_topic(self) -> str:
        return f"{self.prefix}.control.subscriptions.hz-centre"  # a subscriber's subscriptions

    def normaliser_settings(self, registry_url: str) -> NormaliserSettings:
        return NormaliserSettings(kafka=self.node.admin, registry=registry_at(registry_url), topic_prefix=self.prefix,
                                  normaliser_items=(ITEM,), normaliser_app_id=self.normaliser_app,
                                  normaliser_partitions=1)

    def profile_settings(self, registry_url: str) -> ProfileSettings:
        return ProfileSettings(kafka=self.node.admin, registry=registry_at(registry_url), topic_prefix=self.prefix,
                               profiles_names=(PROFILE,), profiles_app_id=self.profiles_app, profiles_partitions=1)


def _catalogue_topics(bus: Bus, registry_url: str) -> list[TopicSpec]:
    """The topics ``govbus topics sync`` creates as the administrator, without the processors' internal ones
    (changelogs, repartition topics): the processors must be allowed to create those themselves."""
    specs = [*normaliser_topics(bus.normaliser_settings(registry_url)),
             *ProfileTopology(bus.profile_settings(registry_url)).topic_specs()]
    own = ("changelog__", f"{bus.profiles_app}-")
    return [*{s.name: s for s in specs if not s.name.startswith(own)}.values(), audit_topic_spec(bus.prefix),
            TopicSpec(bus.control_topic, 1, {"cleanup.policy": "compact"}),
            TopicSpec(parked_topic("some-subscription", bus.prefix), 1)]


@pytest.fixture(scope="module")
def bus(secured_node: SecuredBroker, registry_url: str) -> Bus:
    suffix = uuid.uuid4().hex[:6]
    prefix = f"govbus.sec-{suffix}"
    users = {processor_user(NORMALISER): "normaliser", processor_user(PROFILES): "profiles",
             user_name(principal_key("department", DEPARTMENT)): "department", operator_user(): "operator"}
    passwords = {user: secrets.token_urlsafe(18) for user in users}
    bus = Bus(secured_node, prefix, f"normaliser-{suffix}", f"profiles-{suffix}",
              {role: secured_node.admin.with_credentials(user, passwords[user]) for user, role in users.items()}
              | {"admin": secured_node.admin})
    principals.provision(secured_node.admin, passwords, [
        *processor_acls(NORMALISER, prefix, bus.normaliser_app), *processor_acls(PROFILES, prefix, bus.profiles_app),
        *principals.department_acls(DEPARTMENT, prefix), *operator_acls(prefix)])
    ensure_topics(secured_node.admin, _catalogue_topics(bus, registry_url))

    def everyone_sees_their_topics() -> bool:  # the credentials and ACLs have reached the broker
        try:
            return all(topic in clients.admin(bus.connections[role], {"log_level": 0}).list_topics(timeout=5).topics
                       for role, topic in (("normaliser", bus.department_topic), ("department", bus.department_topic),
                                           ("profiles", canonical_topic(ITEM, prefix)),
                                           ("operator", bus.department_topic)))
        except KafkaException:
            return False

    wait_until(everyone_sees_their_topics, 30, "the principals' credentials and ACLs to take effect")
    return bus


@dataclass(frozen=True)
class Pipeline:
    """What the department published, and what came out of the processors, read by the administrator."""

    published: dict[str, dict[str, Any]]
    """event id -> the canonical record of each registration published"""
    canonical: list[Message]
    dead_letters: list[Message]
    profiles: list[Message]
    seconds: float
    """from starting the processors to the last profile out"""
    logs: dict[str, str]
    """each processor's log (read after it stopped)"""


def _publish(bus: Bus, registry_url: str) -> dict[str, dict[str, Any]]:
    """Registrations and one poison record on the department topic, written by the department's principal."""
    dialect = get_dialect(ITEM, "canonical")
    encoder = WireEncoder(clients.registry_client(registry_at(registry_url)), value_subject(bus.department_topic),
                          dialect.event_schema())
    rng = random.Random(7)
    published, errors = {}, []
    producer = clients.producer(bus.connections["department"], {"acks": "all"})
    for sample in samples(ITEM, "canonical", REGISTRATIONS, bad_share=0, dirty_share=0, seed=7):
        event = change_event(sample, DEPARTMENT, rng)
        assert sample.expected is not None
        published[str(event["event_id"])] = sample.expected
        producer.produce(bus.department_topic, key=sample.key.encode(), value=encoder.encode(event),
                         on_delivery=lambda error, _m: errors.append(error) if error else None)
    producer.produce(bus.department_topic, key=b"poison", value=POISON,
                     on_delivery=lambda error, _m: errors.append(error) if error else None)
    assert producer.flush(30) == 0 and not errors, errors
    return published


@pytest.fixture(scope="module")
def pipeline(bus: Bus, registry_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """Both processors run, each as its own principal, until the profiles are out; then stopped by PID."""
    workers = Workers(tmp_path_factory.mktemp("processors"))
    # the registry as the session reaches it (open today); the broker as each processor's own principal
    common = {**registry_env(registry_at(registry_url)), "GOVBUS_TOPIC_PREFIX": bus.prefix, "GOVBUS_LOG_LEVEL": "INFO"}
    try:
        started = dt.datetime.now(dt.UTC)
        workers.start("normaliser", NORMALISER_MODULE, bus.connections["normaliser"], {
            **common, "GOVBUS_NORMALISER_ITEMS": ITEM, "GOVBUS_NORMALISER_APP_ID": bus.normaliser_app,
            "GOVBUS_NORMALISER_PARTITIONS": "1"})
        workers.start("profiles", PROFILES_MODULE, bus.connections["profiles"], {
            **common, "GOVBUS_PROFILES_NAMES": f'["{PROFILE}"]', "GOVBUS_PROFILES_APP_ID": bus.profiles_app,
            "GOVBUS_PROFILES_PARTITIONS": "1"})
        published = _publish(bus, registry_url)
        admin = bus.connections["admin"]
        out: dict[str, list[Message]] = {}
        wanted = {canonical_topic(ITEM, bus.prefix): REGISTRATIONS, dead_letter_topic(ITEM, bus.prefix): 1,
                  profile_topic(PROFILE, bus.prefix): REGISTRATIONS}

        def all_out() -> bool:
            out.update({topic: read_topic(admin, topic) for topic in wanted})
            return all(len(out[topic]) >= count for topic, count in wanted.items())

        wait_until(all_out, 90, f"canonical events, a dead letter and profiles ({wanted})", workers)
        seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
        log.info("both processors started and their outputs out in %.1f s", seconds)
    finally:
        workers.stop_all()
    logs = {c: (workers.directory / f"{c}.log").read_text(errors="replace") for c in ("normaliser", "profiles")}
    canonical, dead_letters, profiles = (out[topic] for topic in wanted)
    yield Pipeline(published, canonical, dead_letters, profiles, seconds, logs)


def test_the_processors_run_end_to_end_with_only_their_acls(bus: Bus, pipeline: Pipeline, registry_url: str) -> None:
    decoder = WireDecoder(clients.registry_client(registry_at(registry_url)))
    canonical = {str(event["event_id"]): event["record"]
                 for event in (decoder.decode(m.value()).value for m in pipeline.canonical)}
    assert canonical.keys() == pipeline.published.keys()
    assert all(canonical[e]["uscc"] == record["uscc"] for e, record in pipeline.published.items())

    [letter] = pipeline.dead_letters
    assert letter.value() == POISON and DeadLetter.from_headers(letter.headers()).source_topic == bus.department_topic

    profiles = {m.key().decode(): decoder.decode(m.value()).value for m in pipeline.profiles if m.value()}
    assert profiles.keys() == {record["uscc"] for record in pipeline.published.values()}

    created = set(clients.admin(bus.node.admin).list_topics(timeout=10).topics)  # by the processors themselves
    assert f"changelog__{bus.normaliser_app}--{bus.department_topic}--default" in created
    assert f"{bus.profiles_app}-{PROFILE}-repartition" in created
    assert f"changelog__{bus.profiles_app}--{bus.profiles_app}-{PROFILE}-repartition--default" in created
    for name, log in pipeline.logs.items():  # nothing was refused on the way, not even once and retried
        assert "authoriz" not in log.lower(), f"the {name} was refused something:\n{log}"


def test_a_processor_is_refused_what_is_not_its_own(bus: Bus, pipeline: Pipeline) -> None:
    normaliser, profiles = bus.connections["normaliser"], bus.connections["profiles"]
    refused = "TOPIC_AUTHORIZATION_FAILED"
    for topic in (bus.department_topic, parked_topic("some-subscription", bus.prefix), audit_topic(bus.prefix),
                  bus.control_topic, profile_topic(PROFILE, bus.prefix)):
        assert produce_one(normaliser, topic) == refused, f"the normaliser writes {topic}"
    for topic in (canonical_topic(ITEM, bus.prefix), bus.department_topic, audit_topic(bus.prefix)):
        assert produce_one(profiles, topic) == refused, f"the profile builder writes {topic}"
    for topic in (audit_topic(bus.prefix), bus.control_topic, profile_topic(PROFILE, bus.prefix)):
        assert read_outcome(normaliser, topic, bus.normaliser_app) == refused, f"the normaliser reads {topic}"
    for topic in (bus.department_topic, audit_topic(bus.prefix)):
        assert read_outcome(profiles, topic, bus.profiles_app) == refused, f"the profile builder reads {topic}"
    # nor may it create an input topic, even one that exists: so a processor asks only for the missing ones
    admin = clients.admin(normaliser)  # kept until the future resolves
    with pytest.raises(KafkaException, match="TOPIC_AUTHORIZATION_FAILED"):
        admin.create_topics([NewTopic(bus.department_topic, 1, 1)])[bus.department_topic].result(timeout=15)


def _write_as_admin(bus: Bus, topic: str, key: bytes, value: bytes) -> None:
    errors: list[Any] = []
    producer = clients.producer(bus.node.admin)
    producer.produce(topic, key=key, value=value, on_delivery=lambda error, _m: errors.append(error) if error else None)
    assert producer.flush(15) == 0 and not errors, errors


def _audit_record(bus: Bus) -> AuditRecord:
    """One delivery's audit record, written as a connector would."""
    record = AuditRecord(at=dt.datetime.now(dt.UTC), subscriber="tax-bureau", subscription="tax-bureau-registrations",
                         connector="webhook", item=ITEM, record_key="91330000MA27XXXX0X", event_id=str(uuid.uuid4()),
                         outcome=Outcome.DELIVERED, fields_delivered=["uscc"])
    _write_as_admin(bus, audit_topic(bus.prefix), record.subscriber.encode(), record.model_dump_json().encode())
    return record


def test_the_operator_sees_offsets_groups_and_the_audit(bus: Bus, pipeline: Pipeline) -> None:
    operator = clients.admin(bus.connections["operator"])
    source = TopicPartition(bus.department_topic, 0)
    end = operator.list_offsets({source: OffsetSpec.latest()})[source].result(timeout=15).offset
    assert end == REGISTRATIONS + 1  # the registrations and the poison record
    committed = operator.list_consumer_group_offsets([ConsumerGroupTopicPartitions(bus.normaliser_app, [source])])
    [offset] = committed[bus.normaliser_app].result(timeout=15).topic_partitions
    assert offset.error is None and end - offset.offset == 0, "the normaliser's lag is 0"
    groups = {g.group_id for g in operator.list_consumer_groups().result(timeout=15).valid}
    assert {bus.normaliser_app, bus.profiles_app} <= groups
    operator.describe_consumer_groups([bus.profiles_app])[bus.profiles_app].result(timeout=15)
    config = ConfigResource(ResourceType.TOPIC, audit_topic(bus.prefix))
    assert "retention.ms" in operator.describe_configs([config])[config].result(timeout=15)

    record = _audit_record(bus)
    assert record in read_audit(bus.connections["operator"], bus.prefix)  # `govbus audit ...`: no group joined
    assert read_outcome(bus.connections["operator"], audit_topic(bus.prefix), f"{bus.prefix}.operator.audit") == "read"
    _write_as_admin(bus, bus.control_topic, b"tax-bureau-registrations", b'{"subscription": "x"}')
    assert [m.value() for m in read_topic(bus.connections["operator"], bus.control_topic)] == [b'{"subscription": "x"}']


def test_the_operator_writes_nothing_and_reads_no_data(bus: Bus, pipeline: Pipeline) -> None:
    operator = bus.connections["operator"]
    refused = "TOPIC_AUTHORIZATION_FAILED"
    for topic in (audit_topic(bus.prefix), bus.control_topic, canonical_topic(ITEM, bus.prefix)):
        # a principal that may write no topic at all gets no producer id: its producer stops at once
        assert write_outcome(operator, topic) == "CLUSTER_AUTHORIZATION_FAILED", f"the operator writes {topic}"
    for topic in (canonical_topic(ITEM, bus.prefix), profile_topic(PROFILE, bus.prefix), bus.department_topic):
        assert read_outcome(operator, topic, f"{bus.prefix}.operator.look") == refused, f"the operator reads {topic}"
    topic, admin = f"{bus.prefix}.operator-made", clients.admin(operator)  # kept until the future resolves
    with pytest.raises(KafkaException, match=r"(?i)authori[sz]ation"):
        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=15)
