"""Creating the registry's topics when they are missing (blocking; call from a thread).

Replicated as every govbus topic is (:func:`govbus.topics.replication_for` the cluster's brokers: 3 replicas and
``min.insync.replicas=2`` on three brokers or more) unless ``GOVBUS_REGISTRY_TOPIC_REPLICATION`` names a factor.
"""

from __future__ import annotations

import logging

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from govbus import clients
from govbus.connection import KafkaConnection
from govbus.exceptions import PlatformError
from govbus.topics import Replication, replication_for

log = logging.getLogger(__name__)


def ensure_topic(
    kafka: KafkaConnection, name: str, config: dict[str, str], replication: int = -1, timeout: float = 30.0
) -> None:
    """Create ``name`` with one partition and ``config`` unless it exists; warn if it differs. ``replication``
    -1: by the cluster's size (:func:`govbus.topics.replication_for`); else that factor."""
    admin = clients.admin(kafka)
    try:
        metadata = admin.list_topics(topic=name, timeout=timeout)
    except KafkaException as exc:
        raise PlatformError(f"cannot reach Kafka at {kafka.bootstrap} to look up topic {name!r}: {exc}") from exc
    topic = metadata.topics.get(name)
    if topic is not None and topic.error is None:
        if len(topic.partitions) != 1:
            log.warning(
                "registry topic has more than one partition; only partition 0 is used",
                extra={"topic": name, "partitions": len(topic.partitions)},
            )
        return
    chosen = replication_for(len(metadata.brokers)) if replication == -1 else Replication(replication)
    _create(admin, NewTopic(name, num_partitions=1, replication_factor=chosen.factor,
                            config={**chosen.config, **config}), timeout)


def _create(admin: AdminClient, topic: NewTopic, timeout: float) -> None:
    future = admin.create_topics([topic], operation_timeout=timeout, request_timeout=timeout)[topic.topic]
    try:
        future.result(timeout=timeout)
    except KafkaException as exc:
        if exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
            return
        raise PlatformError(f"cannot create topic {topic.topic!r}: {exc.args[0].str()}") from exc
    log.info("created topic", extra={"topic": topic.topic, "config": topic.config})
