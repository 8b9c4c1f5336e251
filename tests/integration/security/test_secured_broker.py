"""A secured local node (SASL/SCRAM-SHA-512 and KRaft's StandardAuthorizer): the administrator reaches
everything; no credentials, a wrong password, or a principal without an ACL reach nothing, until an ACL
grants it. The first part of the identities issue: the platform's broker can enforce who may do what."""

from __future__ import annotations

import secrets
import time
import uuid

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)
from security_support import SecuredBroker

from govbus import clients
from govbus.connection import KafkaConnection
from govbus.identities import principal_key, user_name
from govbus.sharing import principals
from govbus.topic_names import canonical_topic, department_topic
from testsupport.connections import produce_one


def _topic(node: SecuredBroker) -> str:
    topic = f"secured-{uuid.uuid4().hex[:8]}"
    admin = clients.admin(node.admin)  # kept alive until the future resolves
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=30)
    return topic


def test_the_administrator_writes_and_reads(secured_node: SecuredBroker) -> None:
    topic = _topic(secured_node)
    assert produce_one(secured_node.admin, topic, b"by the administrator") is None
    consumer = clients.consumer(secured_node.admin, f"admin-{uuid.uuid4().hex[:6]}", {"auto.offset.reset": "earliest"})
    try:
        consumer.subscribe([topic])
        deadline, got = time.monotonic() + 30, None
        while got is None and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                got = message.value()
        assert got == b"by the administrator"
    finally:
        consumer.close()


def test_no_credentials_or_a_wrong_password_reach_nothing(secured_node: SecuredBroker) -> None:
    anonymous = KafkaConnection(bootstrap=secured_node.bootstrap)
    wrong = KafkaConnection(bootstrap=secured_node.bootstrap).with_credentials("admin", "not-the-password")
    for connection in (anonymous, wrong):
        with pytest.raises(KafkaException):
            clients.admin(connection, {"log_level": 0}).list_topics(timeout=5)


def test_a_principal_without_an_acl_is_denied_until_one_grants_it(secured_node: SecuredBroker) -> None:
    topic, user, password = _topic(secured_node), f"department-{uuid.uuid4().hex[:6]}", secrets.token_urlsafe(18)
    admin = clients.admin(secured_node.admin)
    upsert = UserScramCredentialUpsertion(user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192),
                                          password.encode())
    admin.alter_user_scram_credentials([upsert])[user].result(timeout=30)
    department = KafkaConnection(bootstrap=secured_node.bootstrap).with_credentials(user, password)

    deadline, denied = time.monotonic() + 30, produce_one(department, topic, b"before the ACL")
    while denied == "_AUTHENTICATION" and time.monotonic() < deadline:  # the credential reaches the broker
        denied = produce_one(department, topic, b"before the ACL")
    assert denied == "TOPIC_AUTHORIZATION_FAILED"

    write = AclBinding(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, f"User:{user}", "*",
                       AclOperation.WRITE, AclPermissionType.ALLOW)
    admin.create_acls([write])[write].result(timeout=30)
    deadline, outcome = time.monotonic() + 30, produce_one(department, topic, b"after the ACL")
    while outcome is not None and time.monotonic() < deadline:
        outcome = produce_one(department, topic, b"after the ACL")
    assert outcome is None, "the ACL lets the principal write that topic"
    assert produce_one(department, _topic(secured_node), b"another topic") == "TOPIC_AUTHORIZATION_FAILED"


def test_a_department_writes_only_its_own_topics_and_reads_nothing(secured_node: SecuredBroker) -> None:
    prefix = f"govbus.sec-{uuid.uuid4().hex[:6]}"
    passwords = {department: secrets.token_urlsafe(18) for department in ("taxation", "education")}
    principals.provision(secured_node.admin,
                         {user_name(principal_key("department", d)): p for d, p in passwords.items()},
                         [acl for d in passwords for acl in principals.department_acls(d, prefix)])
    own, other = (department_topic(d, "tax_payment_certificate", prefix) for d in ("taxation", "education"))
    canonical = canonical_topic("tax_payment_certificate", prefix)
    admin = clients.admin(secured_node.admin)
    for topic in (own, other, canonical):
        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=30)
    taxation = KafkaConnection(bootstrap=secured_node.bootstrap).with_credentials(
        user_name(principal_key("department", "taxation")), passwords["taxation"])

    deadline, outcome = time.monotonic() + 30, produce_one(taxation, own, b"own topic")
    while outcome is not None and time.monotonic() < deadline:  # the credential and ACLs reach the broker
        outcome = produce_one(taxation, own, b"own topic")
    assert outcome is None, "a department writes its own department topic"
    assert produce_one(taxation, other, b"another department's topic") == "TOPIC_AUTHORIZATION_FAILED"
    assert produce_one(taxation, canonical, b"the canonical topic") == "TOPIC_AUTHORIZATION_FAILED"

    consumer = clients.consumer(taxation, f"taxation-{uuid.uuid4().hex[:6]}", {"auto.offset.reset": "earliest"})
    try:
        consumer.subscribe([canonical, own])
        deadline, refused = time.monotonic() + 30, None
        while refused is None and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is not None:
                refused = message.error().code()
            assert message is None or message.error() is not None, "a department reads nothing"
        assert refused in (KafkaError.GROUP_AUTHORIZATION_FAILED, KafkaError.TOPIC_AUTHORIZATION_FAILED)
    finally:
        consumer.close()
