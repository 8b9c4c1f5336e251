"""The processors' and the operator's ACLs against the topics, groups and transactional ids the processors
themselves name: each one is covered with what it needs, and nothing reads every topic. (The secured-broker
test, tests/integration/security/test_processor_principals.py, runs the real processors under them.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

from govbus.sharing.processor_access import (
    DEFAULT_APP_IDS,
    NORMALISER,
    PROFILES,
    operator_acls,
    operator_user,
    processor_acls,
    processor_user,
)
from govbus.topic_names import audit_topic, canonical_topic, parked_topic
from streams.normalising.settings import NormaliserSettings
from streams.normalising.topics import normaliser_topics, source_topics
from streams.profiles.topology import ProfileSettings, ProfileTopology
from streams.state_recovery import worker_transactional_id

PREFIX = "govbus.test"
Operations = tuple[AclOperation, ...]
CONTROL = (f"{PREFIX}.control.subscriptions.hz-centre", f"{PREFIX}.control.grants.taxation")
IMPLIES_DESCRIBE = {AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER}


def _matches(binding: AclBinding, resource: ResourceType, name: str) -> bool:
    if binding.restype != resource:
        return False
    if binding.resource_pattern_type == ResourcePatternType.PREFIXED:
        return name.startswith(binding.name)
    return binding.name in ("*", name)


def allowed(bindings: list[AclBinding], resource: ResourceType, name: str, operation: AclOperation) -> bool:
    """As the broker's authorizer decides: a matching DENY wins; READ, WRITE ... imply DESCRIBE."""
    def grants(binding: AclBinding) -> bool:
        return binding.operation == operation or (operation == AclOperation.DESCRIBE
                                                  and binding.operation in IMPLIES_DESCRIBE)

    found = [b for b in bindings if _matches(b, resource, name) and grants(b)]
    return bool(found) and all(b.permission_type == AclPermissionType.ALLOW for b in found)


def test_the_default_app_ids_are_the_processors_own() -> None:
    assert DEFAULT_APP_IDS == {NORMALISER: NormaliserSettings().normaliser_app_id,
                               PROFILES: ProfileSettings().profiles_app_id}


def test_the_normaliser_reads_its_inputs_writes_its_outputs_and_nothing_else() -> None:
    settings = NormaliserSettings(topic_prefix=PREFIX, normaliser_app_id="norm-1")
    acls = processor_acls(NORMALISER, PREFIX, "norm-1")
    assert {b.principal for b in acls} == {f"User:{processor_user(NORMALISER)}"} == {"User:processor.normaliser"}
    sources = {t for item in settings.normaliser_items for t in source_topics(settings, item)}
    for spec in normaliser_topics(settings):
        topic = spec.name
        needed: Operations
        if topic in sources:
            needed = (AclOperation.READ, AclOperation.DESCRIBE_CONFIGS)
        elif topic.startswith("changelog__norm-1--"):
            needed = (AclOperation.CREATE, AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE_CONFIGS)
        else:  # canonical and dead-letter topics
            needed = (AclOperation.WRITE, AclOperation.DESCRIBE)
        assert all(allowed(acls, ResourceType.TOPIC, topic, op) for op in needed), topic
        assert not allowed(acls, ResourceType.TOPIC, topic, AclOperation.DELETE), topic
    assert allowed(acls, ResourceType.GROUP, "norm-1", AclOperation.READ)
    assert allowed(acls, ResourceType.TRANSACTIONAL_ID, worker_transactional_id("norm-1", Path("/state")),
                   AclOperation.WRITE)
    for sources_only in sources:
        assert not allowed(acls, ResourceType.TOPIC, sources_only, AclOperation.WRITE)
        assert not allowed(acls, ResourceType.TOPIC, sources_only, AclOperation.CREATE)
    for others in (audit_topic(PREFIX), *CONTROL, canonical_topic("enterprise_registration", "govbus.other")):
        assert not allowed(acls, ResourceType.TOPIC, others, AclOperation.DESCRIBE), others
    assert not allowed(acls, ResourceType.TOPIC, parked_topic("hz-one-stop", PREFIX), AclOperation.WRITE)
    assert not allowed(acls, ResourceType.GROUP, "norm-10", AclOperation.READ)
    assert not allowed(acls, ResourceType.BROKER, "kafka-cluster", AclOperation.IDEMPOTENT_WRITE)


def test_the_profile_builder_reads_canonical_events_and_writes_profiles() -> None:
    settings = ProfileSettings(topic_prefix=PREFIX, profiles_app_id="prof-1")
    acls = processor_acls(PROFILES, PREFIX, "prof-1")
    topology = ProfileTopology(settings)
    inputs = {topology.canonical_topic(item) for item in topology.source_items()}
    outputs = {topology.output_topic(d.name) for d in settings.definitions()}
    for spec in topology.topic_specs():
        topic = spec.name
        needed: Operations
        if topic in inputs:
            needed = (AclOperation.READ, AclOperation.DESCRIBE_CONFIGS)
        elif topic in outputs:
            needed = (AclOperation.WRITE,)
        else:  # repartition topics and changelogs: its own
            needed = (AclOperation.CREATE, AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE_CONFIGS)
        assert all(allowed(acls, ResourceType.TOPIC, topic, op) for op in needed), topic
    for topic in inputs:
        assert not allowed(acls, ResourceType.TOPIC, topic, AclOperation.WRITE)
    assert not allowed(acls, ResourceType.TOPIC, f"{PREFIX}.dept.taxation.tax-payment-certificate", AclOperation.READ)
    assert allowed(acls, ResourceType.GROUP, "prof-1", AclOperation.READ)
    assert allowed(acls, ResourceType.TRANSACTIONAL_ID, worker_transactional_id("prof-1", Path("/s")),
                   AclOperation.WRITE)


def test_the_operator_describes_everything_reads_the_audit_and_control_and_writes_nothing() -> None:
    acls = operator_acls(PREFIX)
    assert {b.principal for b in acls} == {f"User:{operator_user()}"} == {"User:operator"}
    canonical = canonical_topic("tax_payment_certificate", PREFIX)
    for topic in (canonical, "changelog__govbus-normaliser--x", "anything"):
        assert allowed(acls, ResourceType.TOPIC, topic, AclOperation.DESCRIBE)
        assert allowed(acls, ResourceType.TOPIC, topic, AclOperation.DESCRIBE_CONFIGS)
    assert allowed(acls, ResourceType.GROUP, "govbus-normaliser", AclOperation.DESCRIBE)
    assert allowed(acls, ResourceType.BROKER, "kafka-cluster", AclOperation.DESCRIBE_CONFIGS)
    for topic in (audit_topic(PREFIX), *CONTROL):
        assert allowed(acls, ResourceType.TOPIC, topic, AclOperation.READ), topic
    assert allowed(acls, ResourceType.GROUP, f"{PREFIX}.operator.audit-1", AclOperation.READ)
    assert not allowed(acls, ResourceType.TOPIC, canonical, AclOperation.READ)
    assert not allowed(acls, ResourceType.GROUP, "govbus-normaliser", AclOperation.READ)
    writes = {AclOperation.WRITE, AclOperation.CREATE, AclOperation.DELETE, AclOperation.ALTER,
              AclOperation.ALTER_CONFIGS, AclOperation.IDEMPOTENT_WRITE, AclOperation.ALL}
    assert not [b for b in acls if b.operation in writes]


def test_no_principal_reads_every_topic_and_unknown_processors_are_refused() -> None:
    everyone = [*processor_acls(NORMALISER, PREFIX), *processor_acls(PROFILES, PREFIX), *operator_acls(PREFIX)]
    assert not [b for b in everyone if b.restype == ResourceType.TOPIC and b.operation == AclOperation.READ
                and (b.name == "*" or not b.name.startswith((f"{PREFIX}.", "changelog__", "govbus-profiles-")))]
    with pytest.raises(ValueError, match="unknown stream processor"):
        processor_acls("mirror", PREFIX)
