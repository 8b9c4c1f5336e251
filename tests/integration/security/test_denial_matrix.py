"""The denial matrix of the identities issue, against the session's secured broker and registry.

Each row: who, what, the refusal, and nothing written. Rows proven here: a department writing another
department's topic, a department reading a canonical topic, a subscription's connector reading an item it
has no grant for, a Kafka subscriber reading a canonical topic (even of an item it is granted) or another
subscriber's delivery topic, a registry write, delete, mode or config change by a department or without
credentials, and the broker and registry without credentials or with a wrong password. Proven elsewhere in
this directory: the same after a grant is revoked and after it expires, a forged grant and a forged
subscription (test_grants_become_acls.py); a principal without an ACL (test_secured_broker.py); the
processors and the operator (test_processor_principals.py); the registry's whole rule set, forwarding
included (tests/integration/registry/test_registry_auth.py).
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from confluent_kafka import KafkaException

from govbus import clients, identities
from govbus.connection import KafkaConnection, RegistryConnection
from govbus.sharing import principals
from govbus.sharing.acl_sync import apply, plan
from govbus.sharing.model import Delivery, DeliveryKind, ItemRequest, Subscription
from govbus.sharing.store import SharingStore
from govbus.topic_names import canonical_topic, delivery_topic, department_topic, value_subject
from govbus.topic_reader import read_topic
from govbus.topics import TopicSpec, ensure_topics
from testsupport.connections import kafka_at, produce_one, read_first, registry_at, registry_principals

DENIED = "TOPIC_AUTHORIZATION_FAILED"
PARTIES = ("department:taxation", "department:market-regulation", "subscriber:hz-centre", "subscriber:other",
           "connector:hz-one-stop")


@dataclass
class Matrix:
    prefix: str
    admin: KafkaConnection
    registry: RegistryConnection
    kafka: dict[str, KafkaConnection]
    passwords: dict[str, str]
    rows: list[tuple[str, str, str]]

    def row(self, who: str, what: str, outcome: str) -> str:
        self.rows.append((who, what, outcome))
        return outcome

    def records(self, topic: str) -> int:
        return len(read_topic(self.admin, topic))


def _kafka_subscription(name: str, subscriber: str) -> Subscription:
    request = ItemRequest(item="enterprise_registration", fields=["uscc", "name"])
    return Subscription(name=name, subscriber=subscriber, items=[request], delivery=Delivery(kind=DeliveryKind.KAFKA))


@pytest.fixture(scope="module")
def matrix(kafka_bootstrap: str, registry_url: str) -> Iterator[Matrix]:
    admin = kafka_at(kafka_bootstrap)
    prefix = f"govbus.deny-{uuid.uuid4().hex[:8]}"
    passwords = {key: secrets.token_urlsafe(16) for key in PARTIES}
    principals.provision(admin, {identities.user_name(key): pw for key, pw in passwords.items()}, [])
    store = SharingStore(admin, prefix)
    store.register_departments(["taxation", "market-regulation"])
    for subscriber in ("hz-centre", "other"):
        store.register_subscriber(subscriber)
    ensure_topics(admin, [TopicSpec(topic, 1) for topic in (
        canonical_topic("enterprise_registration", prefix), canonical_topic("tax_payment_certificate", prefix),
        department_topic("taxation", "tax_payment_certificate", prefix),
        department_topic("market-regulation", "enterprise_registration", prefix),
        delivery_topic("hz-centre", "hz-one-stop", prefix), delivery_topic("other", "other-feed", prefix))])
    for topic in (canonical_topic("enterprise_registration", prefix),
                  delivery_topic("hz-centre", "hz-one-stop", prefix), delivery_topic("other", "other-feed", prefix)):
        assert produce_one(admin, topic, topic.encode()) is None
    kafka = {key: admin.with_credentials(identities.user_name(key), pw) for key, pw in passwords.items()}
    apply(admin, plan(admin, prefix))  # the registered subscribers may declare subscriptions now
    SharingStore(kafka["subscriber:hz-centre"], prefix).put_subscription(_kafka_subscription("hz-one-stop",
                                                                                             "hz-centre"))
    SharingStore(kafka["subscriber:other"], prefix).put_subscription(_kafka_subscription("other-feed", "other"))
    apply(admin, plan(admin, prefix))
    with registry_principals({key: passwords[key] for key in PARTIES}):
        matrix = Matrix(prefix, admin, registry_at(registry_url), kafka, passwords, [])
        yield matrix
    width = max(len(who) for who, _, _ in matrix.rows)
    print("\n".join(f"{who:<{width}}  {what:<58}  {outcome}" for who, what, outcome in matrix.rows))


def test_departments_write_only_their_own_topics_and_read_nothing(matrix: Matrix) -> None:
    taxation = matrix.kafka["department:taxation"]
    theirs = department_topic("market-regulation", "enterprise_registration", matrix.prefix)
    own = department_topic("taxation", "tax_payment_certificate", matrix.prefix)
    before = matrix.records(theirs)
    assert matrix.row("department.taxation", "write market-regulation's department topic",
                      str(produce_one(taxation, theirs))) == DENIED
    assert matrix.records(theirs) == before, "nothing written"
    assert matrix.row("department.taxation", "read a canonical topic",
                      str(read_first(taxation, canonical_topic("enterprise_registration", matrix.prefix)))) == DENIED
    assert matrix.row("department.taxation", "read its own department topic", str(read_first(taxation, own))) \
        == DENIED, "a department writes its topics and reads nothing"
    assert produce_one(taxation, own) is None, "while it writes its own"


def test_connectors_and_kafka_subscribers_read_only_what_their_grants_allow(matrix: Matrix) -> None:
    connector = matrix.kafka["connector:hz-one-stop"]
    subscriber = matrix.kafka["subscriber:hz-centre"]
    tax = canonical_topic("tax_payment_certificate", matrix.prefix)
    registrations = canonical_topic("enterprise_registration", matrix.prefix)
    assert matrix.row("connector.hz-one-stop", "read tax certificates (no grant)",
                      str(read_first(connector, tax))) == DENIED
    assert read_first(connector, registrations) == registrations.encode(), "an unconditional item it asked for"
    assert matrix.row("subscriber.hz-centre", "read the canonical topic of an item it receives",
                      str(read_first(subscriber, registrations))) == DENIED
    assert matrix.row("subscriber.hz-centre", "read another subscription's delivery topic",
                      str(read_first(subscriber, delivery_topic("other", "other-feed", matrix.prefix)))) == DENIED
    own = delivery_topic("hz-centre", "hz-one-stop", matrix.prefix)
    assert read_first(subscriber, own) == own.encode(), "its own delivery topic"
    before = matrix.records(own)
    assert matrix.row("subscriber.hz-centre", "write its own delivery topic",
                      str(produce_one(subscriber, own))) == DENIED
    assert matrix.records(own) == before, "nothing written"


def _refused(call: Callable[[], object]) -> str:
    try:
        call()
    except KafkaException as error:
        return str(error.args[0].name())
    return "allowed"


def test_no_credentials_or_a_wrong_password_reach_neither_broker_nor_registry(matrix: Matrix) -> None:
    anonymous = KafkaConnection(bootstrap=matrix.admin.bootstrap)
    wrong = anonymous.with_credentials("department.taxation", "not-the-password")
    for who, connection in (("(no credentials)", anonymous), ("department.taxation, wrong password", wrong)):
        outcome = matrix.row(who, "list the broker's topics",
                             _refused(lambda c=connection: clients.admin(c, {"log_level": 0}).list_topics(timeout=5)))
        assert outcome != "allowed"
    url = matrix.registry.url
    assert matrix.row("(no credentials)", "GET /subjects on the registry",
                      str(httpx.get(f"{url}/subjects", timeout=10).status_code)) == "401"
    answer = httpx.get(f"{url}/subjects", auth=("department.taxation", "not-the-password"), timeout=10)
    assert matrix.row("department.taxation, wrong password", "GET /subjects on the registry",
                      str(answer.status_code)) == "401"
    assert "not-the-password" not in answer.text


def test_registry_writes_by_a_department_or_anonymous_change_nothing(matrix: Matrix) -> None:
    url = matrix.registry.url
    auth = ("department.taxation", matrix.passwords["department:taxation"])
    canonical = value_subject(canonical_topic("tax_payment_certificate", matrix.prefix))
    own = value_subject(department_topic("taxation", "tax_payment_certificate", matrix.prefix))
    schema = {"schema": json.dumps({"type": "record", "name": "Probe", "fields": [{"name": "v", "type": "int"}]})}
    with httpx.Client(base_url=url, timeout=15, auth=httpx.BasicAuth(*auth)) as department, \
            httpx.Client(base_url=url, timeout=15) as anonymous, \
            httpx.Client(base_url=url, timeout=15, auth=httpx.BasicAuth(matrix.registry.username or "",
                                                                           _secret(matrix.registry))) as admin:
        assert department.post(f"/subjects/{own}/versions", json=schema).status_code == 200, "its own subject"

        def state() -> list[object]:
            return [admin.get("/subjects").json(), admin.get("/config").json(), admin.get("/mode").json(),
                    admin.get(f"/subjects/{own}/versions").json()]

        before = state()
        attempts = [("register a canonical subject", "POST", f"/subjects/{canonical}/versions", schema),
                    ("delete its own subject", "DELETE", f"/subjects/{own}", None),
                    ("delete its own subject permanently", "DELETE", f"/subjects/{own}?permanent=true", None),
                    ("set the registry READONLY", "PUT", "/mode", {"mode": "READONLY"}),
                    ("turn compatibility checks off", "PUT", "/config", {"compatibility": "NONE"})]
        for what, method, path, payload in attempts:
            for who, client, expected in (("department.taxation", department, 403), ("(no credentials)", anonymous,
                                                                                   401)):
                answer = client.request(method, path, json=payload)
                assert int(matrix.row(who, f"registry: {what}", str(answer.status_code))) == expected, answer.text
                assert answer.json()["error_code"] == expected * 100 + 1
        assert state() == before, "nothing changed"


def _secret(connection: RegistryConnection) -> str:
    return connection.password.get_secret_value() if connection.password is not None else ""
