"""The one place that builds clients from a :class:`~govbus.connection.KafkaConnection` or a
:class:`~govbus.connection.RegistryConnection`: Kafka producers, consumers and admin clients
(:mod:`govbus.clients.kafka`), schema-registry clients (:mod:`govbus.clients.registry`) and Quix
Streams applications (:mod:`govbus.clients.stream`, imported on its own: it loads Quix Streams).

No other module writes a librdkafka configuration's connection part; turning authentication or TLS
on for the whole bus is a change to the connection settings only.
"""

from govbus.clients.kafka import admin, commit_reader, consumer, kafka_properties, producer
from govbus.clients.registry import registry_client, registry_http

__all__ = ["admin", "commit_reader", "consumer", "kafka_properties", "producer", "registry_client", "registry_http"]
