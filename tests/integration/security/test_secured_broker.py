"""The session's secured broker (SASL/SCRAM-SHA-512 and KRaft's StandardAuthorizer): the administrator reaches
everything; a principal without an ACL reaches nothing until an ACL grants it. (No credentials, a wrong password
and the departments' ACLs: test_denial_matrix.py.)"""

from __future__ import annotations

import secrets
import time
import uuid

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
