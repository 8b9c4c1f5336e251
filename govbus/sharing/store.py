"""Subscriptions and grants kept on the bus: one compacted one-partition topic per party, last value per key.

Who wrote a declaration is what the broker lets write its topic: department ``d``'s grants live in
``<prefix>.control.grants.d``, which only ``d``'s principal (and the platform's administrator) may write;
subscriber ``s``'s subscriptions live in ``<prefix>.control.subscriptions.s``, which only ``s`` may write.
So a grant counts only where its ``approved_by`` is the department of its topic, and a subscription only
where its ``subscriber`` is the subscriber of its topic; anything else is a forgery and is ignored (and
listed in :attr:`SharingSnapshot.refused`). The broker's write ACLs, not the writer's courtesy, decide
who wrote what: no key to hand out or rotate, and the authorizer already exists (signatures would need
both). A subscription name declared by two subscribers counts for neither (record times are the writer's
to choose, so no "first" can be trusted); a subscriber's delivery topic carries its own name anyway.

Every connector loads a :class:`SharingSnapshot` at start and again every few seconds, so a
grant that is revoked or expires stops delivery without a restart.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from confluent_kafka import KafkaError, Message
from pydantic import ValidationError

from govbus import clients
from govbus.connection import KafkaConnection
from govbus.exceptions import AuthorizationError, DeliveryError, PlatformError
from govbus.sharing.model import Grant, Subscription
from govbus.topic_names import control_prefix, grants_prefix, grants_topic, subscriptions_prefix, subscriptions_topic
from govbus.topic_reader import read_prefixed
from govbus.topics import TopicSpec, ensure_topics

log = logging.getLogger(__name__)
Declared = TypeVar("Declared", Subscription, Grant)
_COMPACTED = {"cleanup.policy": "compact"}


def grant_key(department: str, grant_id: str) -> str:
    """A grant's key in a snapshot: grant ids are each department's own, so two may use the same one."""
    return f"{department}/{grant_id}"


@dataclass
class SharingSnapshot:
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)  # by grant_key(approving department, grant id)
    refused: list[str] = field(default_factory=list)  # why a record on a control topic was not counted
    subscribers: set[str] = field(default_factory=set)  # registered: their subscriptions topic exists


def _refused(kafka: KafkaConnection, topic: str, party: str) -> str:
    who = kafka.username or "a client without credentials"
    return (f"the broker refused {who} writing {topic}: only {party}'s principal may, once it is registered "
            f"(`govbus dev principals add {party}`) and the ACL reconciler has run (`govbus acl sync`)")


class SharingStore:
    def __init__(self, kafka: KafkaConnection, prefix: str, read_timeout: float = 30.0) -> None:
        """``read_timeout``: how long :meth:`load` may wait for the control topics (a connector reloading them
        often gives up sooner, and tries again, rather than wait on a broker that has died)."""
        self._kafka = kafka
        self._prefix = prefix
        self._read_timeout = read_timeout
        self._reported: set[str] = set()  # refusals logged already: each is logged once per store

    def subscriptions_topic(self, subscriber: str) -> str:
        return subscriptions_topic(subscriber, self._prefix)

    def grants_topic(self, department: str) -> str:
        return grants_topic(department, self._prefix)

    def register_subscriber(self, subscriber: str) -> str:
        """Create ``subscriber``'s subscriptions topic (as the administrator): registered, it gets the ACLs to
        declare subscriptions at the next reconciliation (:mod:`govbus.sharing.acl_sync`). Its topic's name."""
        topic = self.subscriptions_topic(subscriber)
        ensure_topics(self._kafka, [TopicSpec(topic, 1, _COMPACTED)])
        return topic

    def register_departments(self, departments: Iterable[str]) -> None:
        """Create each department's grants topic (as the administrator)."""
        ensure_topics(self._kafka, [TopicSpec(self.grants_topic(d), 1, _COMPACTED) for d in departments])

    def _write(self, topic: str, key: str, value: bytes | None, party: str) -> None:
        """Write one control record to ``party``'s topic; :class:`AuthorizationError` saying what to do when the
        broker refuses this principal."""
        try:
            ensure_topics(self._kafka, [TopicSpec(topic, 1, _COMPACTED)])
        except PlatformError as error:
            raise AuthorizationError(_refused(self._kafka, topic, party)) from error
        producer = clients.producer(self._kafka)
        errors: list[KafkaError] = []
        producer.produce(topic, key=key.encode(), value=value,
                         on_delivery=lambda err, _m: errors.append(err) if err else None)
        left = producer.flush(30)
        if errors and errors[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
            raise AuthorizationError(_refused(self._kafka, topic, party))
        if left or errors:
            raise DeliveryError(f"could not write {key!r} to {topic}: "
                                f"{errors[0].str() if errors else 'no acknowledgement in 30 s'}")

    def put_subscription(self, subscription: Subscription) -> None:
        """Write ``subscription`` to its subscriber's topic (only that subscriber's principal may)."""
        self._write(self.subscriptions_topic(subscription.subscriber), subscription.name,
                    subscription.model_dump_json().encode(), f"subscriber:{subscription.subscriber}")

    def remove_subscription(self, subscription: Subscription) -> None:
        self._write(self.subscriptions_topic(subscription.subscriber), subscription.name, None,
                    f"subscriber:{subscription.subscriber}")

    def put_grant(self, grant: Grant) -> None:
        """Write ``grant`` to its approving department's topic (only that department's principal may)."""
        self._write(self.grants_topic(grant.approved_by), grant.grant_id, grant.model_dump_json().encode(),
                    f"department:{grant.approved_by}")

    def load(self) -> SharingSnapshot:
        """Every subscription and grant now declared, each checked against the party whose topic holds it."""
        read = read_prefixed(self._kafka, control_prefix(self._prefix), timeout=self._read_timeout)
        subscription_topics = [t for t in read if t.startswith(subscriptions_prefix(self._prefix))]
        grant_topics = [t for t in read if t.startswith(grants_prefix(self._prefix))]
        snapshot = SharingSnapshot()
        claims: dict[str, dict[str, Subscription]] = {}  # name -> subscriber -> its latest declaration
        for topic in subscription_topics:
            subscriber = topic.removeprefix(subscriptions_prefix(self._prefix))
            snapshot.subscribers.add(subscriber)
            for message in read[topic]:
                self._take_subscription(snapshot, claims, subscriber, message)
        for name, by_subscriber in claims.items():
            if len(by_subscriber) == 1:
                snapshot.subscriptions[name] = next(iter(by_subscriber.values()))
            elif by_subscriber:
                snapshot.refused.append(f"subscription {name!r} is declared by {', '.join(sorted(by_subscriber))}: "
                                        "none of them counts until all but one remove it")
        for topic in grant_topics:
            department = topic.removeprefix(grants_prefix(self._prefix))
            for message in read[topic]:
                self._take_grant(snapshot, department, message)
        for reason in snapshot.refused:
            if reason not in self._reported:
                log.warning("control record not counted", extra={"reason": reason})
        self._reported = set(snapshot.refused)
        return snapshot

    @staticmethod
    def _take_subscription(snapshot: SharingSnapshot, claims: dict[str, dict[str, Subscription]],
                           subscriber: str, message: Message) -> None:
        name = (message.key() or b"").decode(errors="replace")
        where = f"{message.topic()}@{message.offset()}"
        mine = claims.setdefault(name, {})
        if message.value() is None:
            mine.pop(subscriber, None)
            return
        subscription = _parsed(snapshot, message, Subscription, "subscription")
        if subscription is None:
            return
        if subscription.subscriber != subscriber or subscription.name != name:
            snapshot.refused.append(f"{where}: subscription {name!r} names subscriber {subscription.subscriber!r} "
                                    f"but was written to {subscriber}'s topic (forged)")
            return
        mine[subscriber] = subscription

    @staticmethod
    def _take_grant(snapshot: SharingSnapshot, department: str, message: Message) -> None:
        grant_id = (message.key() or b"").decode(errors="replace")
        where = f"{message.topic()}@{message.offset()}"
        key = grant_key(department, grant_id)
        if message.value() is None:
            snapshot.grants.pop(key, None)
            return
        grant = _parsed(snapshot, message, Grant, "grant")
        if grant is None:
            return
        if grant.approved_by != department or grant.grant_id != grant_id:
            snapshot.refused.append(f"{where}: grant {grant_id!r} says approved by {grant.approved_by!r} but was "
                                    f"written to {department}'s topic (forged)")
            return
        snapshot.grants[key] = grant


def _parsed(snapshot: SharingSnapshot, message: Message, model: type[Declared], noun: str) -> Declared | None:
    """The declaration in ``message``; None, and the refusal reported in ``snapshot``, when it is not one."""
    try:
        return model.model_validate(json.loads(message.value() or b"{}"))
    except (ValueError, ValidationError) as error:
        snapshot.refused.append(f"{message.topic()}@{message.offset()}: not a {noun} ({type(error).__name__})")
        return None
