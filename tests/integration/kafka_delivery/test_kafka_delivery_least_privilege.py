"""Kafka delivery under least privilege, on the session's secured broker and registry: the subscription's
connector runs as its own principal with only the ACLs the reconciler derived from the subscription and the
grant; the subscriber's own Kafka client, as the subscriber's principal, in a group under
``<prefix>.subscriber.<slug>.``, reads its delivery topic (counted per record) and is refused the canonical topic;
after the grant is revoked the connector may no longer read that item, and nothing more of it arrives. Once the
connector may not read the control topics either (its subscriptions and grants), it fails closed: after
``stale_after`` seconds it stops delivering, with the reason, and its refresh failures are counted."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from confluent_kafka.admin import AclBindingFilter, AclOperation, AclPermissionType, ResourcePatternType, ResourceType
from kafka_delivery_support import CATALOGUE, ENTERPRISE, TAX, Reader, Running, Writers

from connectors.kafka_delivery.connector import KafkaDeliveryConnector
from connectors.kafka_delivery.settings import KafkaDeliverySettings
from connectors.webhook.exceptions import SharingStoreUnavailable
from govbus import clients, identities
from govbus.connection import KafkaConnection, RegistryConnection
from govbus.sharing import principals
from govbus.sharing.acl_sync import apply, plan
from govbus.sharing.model import Grant, Subscription
from govbus.sharing.store import SharingStore
from govbus.topic_names import canonical_topic, control_prefix, delivery_topic
from testsupport.connections import kafka_at, read_first, registry_at, registry_principals

SUBSCRIBER, SUBSCRIPTION = "kd-centre", "kd-least"
STALE_AFTER = 3.0
KEYS = (f"subscriber:{SUBSCRIBER}", f"connector:{SUBSCRIPTION}", "department:taxation")


@dataclass
class Parties:
    prefix: str
    admin: KafkaConnection
    kafka: dict[str, KafkaConnection]
    registry: dict[str, RegistryConnection]

    def reconcile(self) -> None:
        apply(self.admin, plan(self.admin, self.prefix))


@pytest.fixture
def parties(kafka_bootstrap: str, registry_url: str) -> Iterator[Parties]:
    admin = kafka_at(kafka_bootstrap)
    prefix = f"govbus.t-{uuid.uuid4().hex[:10]}"
    passwords = {key: secrets.token_urlsafe(16) for key in KEYS}
    principals.provision(admin, {identities.user_name(key): pw for key, pw in passwords.items()}, [])
    store = SharingStore(admin, prefix)
    store.register_departments(["taxation"])
    store.register_subscriber(SUBSCRIBER)
    url = registry_at(registry_url).url
    with registry_principals(passwords):
        yield Parties(prefix, admin,
                      {key: admin.with_credentials(identities.user_name(key), pw) for key, pw in passwords.items()},
                      {key: RegistryConnection(url=url, username=identities.user_name(key), password=pw)
                       for key, pw in passwords.items()})


def _deny_control_topics(parties: Parties, key: str) -> None:
    """Delete the read ``key``'s principal has on the prefix's control topics (the reconciler would restore it)."""
    binding = AclBindingFilter(ResourceType.TOPIC, control_prefix(parties.prefix), ResourcePatternType.PREFIXED,
                               f"User:{identities.user_name(key)}", "*", AclOperation.ANY, AclPermissionType.ANY)
    admin = clients.admin(parties.admin)  # (kept while the future runs: a collected client cancels it)
    deleted = admin.delete_acls([binding])[binding].result(timeout=30)
    assert deleted, "the connector had a read on the control topics"


def _grant(revoked: bool = False) -> Grant:
    return Grant(grant_id="kd-tax", subscriber=SUBSCRIBER, item=TAX, approved_by="taxation", purpose="checks",
                 fields=["certificate_number", "amount_cents"], revoked=revoked,
                 expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))


def test_the_connector_and_the_subscriber_need_nothing_beyond_what_the_grants_imply(
        parties: Parties, kafka_bootstrap: str, registry_url: str) -> None:
    writers = Writers(kafka_bootstrap, registry_url, parties.prefix)
    parties.reconcile()  # the registered subscriber may declare now
    subscription = Subscription.model_validate({
        "name": SUBSCRIPTION, "subscriber": SUBSCRIBER, "delivery": {"kind": "kafka"}, "items": [
            {"item": TAX, "fields": ["certificate_number", "amount_cents"]},
            {"item": ENTERPRISE, "fields": ["uscc", "name"]}]})
    SharingStore(parties.kafka[f"subscriber:{SUBSCRIBER}"], parties.prefix).put_subscription(subscription)
    taxation = SharingStore(parties.kafka["department:taxation"], parties.prefix)
    taxation.put_grant(_grant())
    parties.reconcile()

    connector_key = f"connector:{SUBSCRIPTION}"
    settings = KafkaDeliverySettings(kafka=parties.kafka[connector_key], registry=parties.registry[connector_key],
                                     topic_prefix=parties.prefix, kafka_delivery_subscription=SUBSCRIPTION,
                                     kafka_delivery_refresh_seconds=1, kafka_delivery_batch_max_ms=20,
                                     kafka_delivery_stale_after_seconds=STALE_AFTER)
    running = Running(KafkaDeliveryConnector(settings, CATALOGUE))
    subscriber = parties.kafka[f"subscriber:{SUBSCRIBER}"]
    reader = Reader(kafka_bootstrap, delivery_topic(SUBSCRIBER, SUBSCRIPTION, parties.prefix), as_principal=subscriber,
                    group=f"{parties.prefix}.subscriber.{SUBSCRIBER}.app")
    try:
        tax = writers.upserts(TAX, 12, seed=1)
        enterprises = writers.upserts(ENTERPRISE, 5, seed=2)
        expected = {(TAX, key) for key in tax} | {(ENTERPRISE, key) for key in enterprises}
        reader.read_until(lambda messages: len(messages) >= len(expected), 60, "the first deliveries")
        reader.read_for(1.0)
        got = [(json.loads(m.value() or b"{}")["item"], (m.key() or b"").decode()) for m in reader.messages]
        assert len(got) - len(set(got)) == 0, "duplicated"
        assert expected - set(got) == set(), "lost"
        assert set(got) - expected == set(), "unexpected"
        assert read_first(subscriber, canonical_topic(TAX, parties.prefix)) == "TOPIC_AUTHORIZATION_FAILED"

        taxation.put_grant(_grant(revoked=True))
        parties.reconcile()
        assert read_first(parties.kafka[connector_key], canonical_topic(TAX, parties.prefix)) \
            == "TOPIC_AUTHORIZATION_FAILED", "the revoked grant's read is gone from the broker"
        more = writers.upserts(ENTERPRISE, 3, seed=3)
        writers.upserts(TAX, 4, seed=4)
        reader.read_until(lambda messages: len(messages) >= len(expected) + len(more), 60, "enterprises after")
        reader.read_for(2.0)
        after = [(json.loads(m.value() or b"{}")["item"], (m.key() or b"").decode())
                 for m in reader.messages[len(got):]]
        assert sorted(after) == sorted((ENTERPRISE, key) for key in more), "no tax certificate after the revocation"

        _deny_control_topics(parties, connector_key)  # the sharing store cannot be read now
        stopped = running.ended(timeout=STALE_AFTER + 30)
        assert isinstance(stopped, SharingStoreUnavailable), repr(stopped)
        assert "delivery stops rather than miss a revocation" in str(stopped)
        assert running.connector.metrics.refresh_failures._value.get() >= 1
        delivered = len(reader.messages)
        late = writers.upserts(ENTERPRISE, 3, seed=5)
        reader.read_for(2.0)
        assert len(reader.messages) == delivered, f"{len(late)} events written after it stopped were not delivered"
    finally:
        reader.close()
        running.stop()
