"""Confluent's own client, serializer and deserializer against the registry, through a real broker."""

from __future__ import annotations

import json
import re
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

import schemas.registry
from govbus import clients
from govbus.platform.registry_process import RegistryProcess
from testsupport.connections import kafka_at

PERSON_V1 = {
    "type": "record",
    "name": "Person",
    "namespace": "gov.people",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "name", "type": "string"},
        {"name": "age", "type": "int"},
    ],
}
PERSON_V2 = {
    **PERSON_V1,
    "fields": [*PERSON_V1["fields"], {"name": "email", "type": ["null", "string"], "default": None}],
}


def create_topic(bootstrap: str, topic: str) -> None:
    admin = clients.admin(kafka_at(bootstrap))
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(timeout=30)


def consume(bootstrap: str, topic: str, group: str, count: int, timeout: float = 30.0) -> list[bytes]:
    consumer = clients.consumer(kafka_at(bootstrap), group,
                                {"auto.offset.reset": "earliest", "session.timeout.ms": 6000,
                                 "enable.auto.commit": False})
    consumer.subscribe([topic])
    values: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while len(values) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            assert message.error() is None, message.error()
            value = message.value()
            assert isinstance(value, bytes)
            values.append(value)
    finally:
        consumer.close()
    return values


def schema_id_of(payload: bytes) -> int:
    magic, schema_id = struct.unpack(">bI", payload[:5])
    assert magic == 0
    return int(schema_id)


def test_produce_and_consume_with_confluent_serializers(
    registry: RegistryProcess, kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> None:
    topic = unique_name("people")
    create_topic(kafka_bootstrap, topic)
    client = SchemaRegistryClient({"url": registry.url})
    ctx = SerializationContext(topic, MessageField.VALUE)
    v1 = AvroSerializer(client, json.dumps(PERSON_V1))
    v2 = AvroSerializer(client, json.dumps(PERSON_V2))
    sent: list[dict[str, Any]] = [
        {"id": 1, "name": "Ada", "age": 36},
        {"id": 2, "name": "Grace", "age": 45, "email": "grace@example.org"},
    ]
    producer = clients.producer(kafka_at(kafka_bootstrap), {"acks": "all"})
    producer.produce(topic, value=v1(sent[0], ctx))
    producer.produce(topic, value=v2(sent[1], ctx))
    assert producer.flush(15) == 0

    payloads = consume(kafka_bootstrap, topic, unique_name("group"), 2)
    fresh = SchemaRegistryClient({"url": registry.url})  # nothing cached: must fetch by id
    received = [AvroDeserializer(fresh)(p, ctx) for p in payloads]
    assert received == sent

    subject = f"{topic}-value"
    id_v1, id_v2 = (schema_id_of(p) for p in payloads)
    assert id_v1 != id_v2
    assert fresh.get_versions(subject) == [1, 2]
    latest = fresh.get_latest_version(subject)
    assert (latest.version, latest.schema_id) == (2, id_v2)
    assert json.loads(fresh.get_schema(id_v1).schema_str) == PERSON_V1
    assert [(v.subject, v.version) for v in fresh.get_schema_versions(id_v2)] == [(subject, 2)]
    assert fresh.get_subjects_by_schema_id(id_v1) == [subject]
    assert subject in fresh.get_subjects()
    assert fresh.get_schema_types() == ["AVRO"]


def test_same_schema_same_id_under_any_subject(registry: RegistryProcess, unique_name: Callable[[str], str]) -> None:
    client = SchemaRegistryClient({"url": registry.url})
    first, second = unique_name("a-value"), unique_name("b-value")
    person = {**PERSON_V1, "doc": unique_name("a schema no other test registers")}
    schema_id = client.register_schema(first, Schema(json.dumps(person), "AVRO"))
    reformatted = json.dumps(person, indent=3, sort_keys=True)
    assert client.register_schema(second, Schema(reformatted, "AVRO")) == schema_id
    again = SchemaRegistryClient({"url": registry.url})  # bypass the client's cache
    registered = again.register_schema_full_response(first, Schema(reformatted, "AVRO"))
    assert (registered.schema_id, registered.version) == (schema_id, 1)
    found = again.lookup_schema(second, Schema(reformatted, "AVRO"))
    assert (found.schema_id, found.version, found.subject) == (schema_id, 1, second)
    assert sorted(again.get_subjects_by_schema_id(schema_id)) == sorted([first, second])


def test_serializer_without_auto_register_uses_lookup_and_latest(
    registry: RegistryProcess, unique_name: Callable[[str], str]
) -> None:
    topic = unique_name("lookup")
    client = SchemaRegistryClient({"url": registry.url})
    ctx = SerializationContext(topic, MessageField.VALUE)
    client.register_schema(f"{topic}-value", Schema(json.dumps(PERSON_V1), "AVRO"))
    by_lookup = AvroSerializer(client, json.dumps(PERSON_V1), conf={"auto.register.schemas": False})
    by_latest = AvroSerializer(client, conf={"auto.register.schemas": False, "use.latest.version": True})
    record = {"id": 3, "name": "Alan", "age": 41}
    payload = by_lookup(record, ctx)
    assert payload is not None and by_latest(record, ctx) == payload
    reader = AvroDeserializer(client, conf={"use.latest.version": True})
    assert reader(payload, ctx) == record


def test_deletes_through_the_client(registry: RegistryProcess, unique_name: Callable[[str], str]) -> None:
    client = SchemaRegistryClient({"url": registry.url})
    subject = unique_name("doomed-value")
    client.register_schema(subject, Schema(json.dumps(PERSON_V1), "AVRO"))
    client.register_schema(subject, Schema(json.dumps(PERSON_V2), "AVRO"))
    assert client.delete_version(subject, 1) == 1
    assert client.get_versions(subject) == [2]
    assert client.get_versions(subject, deleted=True) == [1, 2]
    assert client.delete_subject(subject) == [2]
    assert subject not in client.get_subjects()
    assert subject in client.get_subjects(deleted=True)
    assert client.delete_subject(subject, permanent=True) == [1, 2]
    assert subject not in client.get_subjects(deleted=True)


def test_the_readme_snippet_runs(registry: RegistryProcess, unique_name: Callable[[str], str]) -> None:
    readme = (Path(schemas.registry.__file__).parent / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.DOTALL)
    [snippet] = [b for b in blocks if "SchemaRegistryClient(" in b]
    assert "http://127.0.0.1:8081" in snippet and "people-value" in snippet
    subject = unique_name("people-value")
    code = snippet.replace("http://127.0.0.1:8081", registry.url).replace("people-value", subject)
    exec(compile(code, "README.md", "exec"), {})
    assert SchemaRegistryClient({"url": registry.url}).get_versions(subject) == [1]
