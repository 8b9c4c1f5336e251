"""Subscriptions and grants kept on the bus: two compacted one-partition topics, last value per key.

Every connector loads a :class:`SharingSnapshot` at start and again every few seconds, so a
grant that is revoked or expires stops delivery without a restart.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from govbus import clients
from govbus.connection import KafkaConnection
from govbus.exceptions import DeliveryError
from govbus.sharing.model import Grant, Subscription
from govbus.topic_names import grants_topic, subscriptions_topic
from govbus.topic_reader import read_topic
from govbus.topics import TopicSpec, ensure_topics

log = logging.getLogger(__name__)
_COMPACTED = {"cleanup.policy": "compact"}


@dataclass
class SharingSnapshot:
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)


class SharingStore:
    def __init__(self, kafka: KafkaConnection, prefix: str) -> None:
        self._kafka = kafka
        self.subscriptions_topic = subscriptions_topic(prefix)
        self.grants_topic = grants_topic(prefix)

    def ensure_topics(self) -> None:
        ensure_topics(self._kafka, [TopicSpec(self.subscriptions_topic, 1, _COMPACTED),
                                        TopicSpec(self.grants_topic, 1, _COMPACTED)])

    def _write(self, topic: str, key: str, value: bytes | None) -> None:
        producer = clients.producer(self._kafka)
        errors: list[str] = []
        producer.produce(topic, key=key.encode(), value=value,
                         on_delivery=lambda err, _m: errors.append(err.str()) if err else None)
        if producer.flush(30) or errors:
            raise DeliveryError(f"could not write {key!r} to {topic}: {errors or 'no acknowledgement in 30 s'}")

    def put_subscription(self, subscription: Subscription) -> None:
        self._write(self.subscriptions_topic, subscription.name, subscription.model_dump_json().encode())

    def remove_subscription(self, name: str) -> None:
        self._write(self.subscriptions_topic, name, None)

    def put_grant(self, grant: Grant) -> None:
        self._write(self.grants_topic, grant.grant_id, grant.model_dump_json().encode())

    def load(self) -> SharingSnapshot:
        snapshot = SharingSnapshot()
        for message in read_topic(self._kafka, self.subscriptions_topic):
            name = (message.key() or b"").decode()
            if message.value() is None:
                snapshot.subscriptions.pop(name, None)
            else:
                snapshot.subscriptions[name] = Subscription.model_validate(json.loads(message.value() or b"{}"))
        for message in read_topic(self._kafka, self.grants_topic):
            grant_id = (message.key() or b"").decode()
            if message.value() is not None:
                snapshot.grants[grant_id] = Grant.model_validate(json.loads(message.value() or b"{}"))
        return snapshot
