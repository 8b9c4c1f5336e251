"""Kafka clients (confluent-kafka) built from a :class:`~govbus.connection.KafkaConnection`."""

from __future__ import annotations

from collections.abc import Mapping

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from govbus.connection import KafkaConnection

Options = Mapping[str, object]

READ_COMMITTED: dict[str, object] = {"isolation.level": "read_committed"}
"""Consumers see only committed transactional records (the processors write with transactions)."""

SAFE_PRODUCER: dict[str, object] = {"acks": "all", "enable.idempotence": True,
                                     "max.in.flight.requests.per.connection": 1}
"""A producer whose records are on every in-sync replica and never written twice by a retry, with one request in
flight per connection. With more, librdkafka takes a later batch's success as proof that an earlier batch whose
request failed was stored and reports its records delivered; but a broker takes a producer's first batch on a
partition at any sequence number, so after a broker restart those records can be reported stored and be missing
(confluent-kafka-go #921; tests/integration/publishing/test_first_batch_loss.py)."""


def kafka_properties(connection: KafkaConnection) -> dict[str, object]:
    """The connection part of a librdkafka configuration: servers, protocol, SASL credentials, TLS CA."""
    properties: dict[str, object] = {"bootstrap.servers": connection.bootstrap,
                                     "security.protocol": connection.security_protocol.lower()}
    if connection.uses_sasl:
        properties["sasl.mechanism"] = connection.sasl_mechanism
        properties["sasl.username"] = connection.username
        properties["sasl.password"] = connection.password.get_secret_value() if connection.password else ""
    if connection.uses_tls and connection.tls_ca is not None:
        properties["ssl.ca.location"] = str(connection.tls_ca)
    return properties


def producer(connection: KafkaConnection, options: Options | None = None) -> Producer:
    """A producer: idempotent with ``acks=all`` unless ``options`` say otherwise."""
    return Producer({**SAFE_PRODUCER, **(options or {}), **kafka_properties(connection)})


def consumer(connection: KafkaConnection, group: str, options: Options | None = None) -> Consumer:
    """A consumer in ``group`` that reads only committed records; ``options`` add to (or override) that."""
    return Consumer({"group.id": group, **READ_COMMITTED, **(options or {}), **kafka_properties(connection)})


def commit_reader(connection: KafkaConnection, group: str, client_id: str) -> Consumer:
    """A consumer of ``group`` that only reads the group's committed offsets (``committed()``): it never subscribes,
    so it never joins the group nor commits. It reads uncommitted: a read_committed one waits for every open
    transaction holding offsets of the group (a killed worker's, until the broker aborts it). The admin client's
    OffsetFetch is not used for this: it can crash the process while a coordinator moves (librdkafka #5040)."""
    return Consumer({"group.id": group, "enable.auto.commit": False, "isolation.level": "read_uncommitted",
                     "client.id": client_id, **kafka_properties(connection)})


def admin(connection: KafkaConnection, options: Options | None = None) -> AdminClient:
    """An admin client (topics, groups, offsets, ACLs)."""
    return AdminClient({**(options or {}), **kafka_properties(connection)})
