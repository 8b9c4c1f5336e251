"""Asking the broker for one write or one read as some principal, to show what it answers."""

from __future__ import annotations

import uuid

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition

from govbus import clients
from govbus.connection import KafkaConnection

QUIET = {"log_level": 0}


def probe_write(connection: KafkaConnection, topic: str, timeout: float = 10.0) -> str:
    """``allowed`` if the broker stores one probe record (an empty value) on ``topic``, else its refusal."""
    producer = clients.producer(connection, {**QUIET, "message.timeout.ms": int(timeout * 1000)})
    errors: list[str] = []
    producer.produce(topic, value=b"", headers={"govbus.probe": b"1"},
                     on_delivery=lambda error, _m: errors.append(error.name()) if error else None)
    left = producer.flush(timeout + 5)
    if errors:
        return f"refused: {errors[0]}"
    return "refused: no answer" if left else "allowed"


def probe_read(connection: KafkaConnection, topic: str, timeout: float = 10.0) -> str:
    """``allowed`` if the broker lets this principal fetch ``topic``'s first partition, else its refusal."""
    consumer = clients.consumer(connection, f"govbus-probe-{uuid.uuid4().hex[:8]}",
                                {**QUIET, "enable.auto.commit": False})
    try:
        listed = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if listed is not None and listed.error is not None:
            return f"refused: {listed.error.name()}"
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        message = consumer.poll(timeout / 2)
        if message is not None and message.error() is not None and \
                message.error().code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
            return f"refused: {message.error().name()}"
        return "allowed"
    except KafkaException as error:
        return f"refused: {error.args[0].name()}"
    finally:
        consumer.close()
