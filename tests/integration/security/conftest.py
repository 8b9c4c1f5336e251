"""The session's secured broker (SASL/SCRAM-SHA-512, KRaft's StandardAuthorizer, ``admin`` the only super
user) for the tests of principals and their ACLs: each module provisions the principals it needs under a
topic prefix of its own, so modules never see each other's ACLs."""

from __future__ import annotations

import pytest
from security_support import SecuredBroker

from testsupport.connections import kafka_at


@pytest.fixture(scope="module")
def secured_node(kafka_bootstrap: str) -> SecuredBroker:
    """The session's broker and its administrator's connection; the test fails if it is not secured."""
    admin = kafka_at(kafka_bootstrap)
    assert admin.uses_sasl, "the test session's broker runs with SASL/SCRAM and the authorizer"
    return SecuredBroker(kafka_bootstrap, admin)
