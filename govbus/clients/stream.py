"""Quix Streams applications built from a :class:`~govbus.connection.KafkaConnection` (imports Quix Streams)."""

from __future__ import annotations

from typing import Any

from quixstreams import Application
from quixstreams.kafka.configuration import ConnectionConfig

from govbus.clients.kafka import kafka_properties
from govbus.connection import KafkaConnection


def stream_application(connection: KafkaConnection, **options: Any) -> Application:
    """A Quix application on the broker of ``connection``; ``options`` are :class:`Application`'s own."""
    broker = ConnectionConfig.from_librdkafka_dict(kafka_properties(connection))
    return Application(broker_address=broker, **options)
