"""Connections of the test platform, for tests that were handed a bare address by a fixture."""

from __future__ import annotations

from govbus import clients
from govbus.connection import KafkaConnection, RegistryConnection


def kafka_at(bootstrap: str) -> KafkaConnection:
    """The test broker at ``bootstrap``."""
    return KafkaConnection(bootstrap=bootstrap)


def produce_one(connection: KafkaConnection, topic: str, value: bytes = b"x") -> str | None:
    """Write one record as ``connection``'s principal: None if the broker stored it, else its error's name
    (``TOPIC_AUTHORIZATION_FAILED`` ...) or ``no answer``."""
    producer = clients.producer(connection, {"message.timeout.ms": 10_000, "log_level": 0})
    errors: list[str] = []
    producer.produce(topic, value=value, on_delivery=lambda error, _m: errors.append(error.name()) if error else None)
    left = producer.flush(15)
    return errors[0] if errors else ("no answer" if left else None)


def registry_at(url: str) -> RegistryConnection:
    """The test registry at ``url``."""
    return RegistryConnection(url=url)
