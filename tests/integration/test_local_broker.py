"""The session broker is a real Kafka node: topics, produce and consume work; no auto-creation."""

from __future__ import annotations

from collections.abc import Callable

from govbus import clients
from govbus.topic_reader import read_topic
from govbus.topics import TopicSpec, ensure_topics
from testsupport.connections import kafka_at


def test_produce_and_read_back(kafka_bootstrap: str, unique_name: Callable[[str], str]) -> None:
    topic = unique_name("roundtrip")
    ensure_topics(kafka_at(kafka_bootstrap), [TopicSpec(topic, partitions=2)])
    ensure_topics(kafka_at(kafka_bootstrap), [TopicSpec(topic, partitions=2)])  # idempotent
    producer = clients.producer(kafka_at(kafka_bootstrap), {"acks": "all", "enable.idempotence": True})
    for i in range(20):
        producer.produce(topic, key=f"k{i % 4}".encode(), value=f"v{i}".encode())
    assert producer.flush(30) == 0
    values = sorted(m.value() for m in read_topic(kafka_at(kafka_bootstrap), topic))
    assert values == sorted(f"v{i}".encode() for i in range(20))


def test_topics_are_not_auto_created(kafka_bootstrap: str, unique_name: Callable[[str], str]) -> None:
    topic = unique_name("never-created")
    producer = clients.producer(kafka_at(kafka_bootstrap), {"message.timeout.ms": 3000})
    errors: list[str] = []
    producer.produce(topic, value=b"x", on_delivery=lambda err, _m: errors.append(str(err)))
    producer.flush(10)
    assert errors and errors[0] != "None"
    assert topic not in clients.admin(kafka_at(kafka_bootstrap)).list_topics(timeout=10).topics
