"""The AsyncAPI document says what is really on the topics: records written by the Publisher SDK, a local system
and the normaliser (a real worker process) on the real broker and registry are read back and checked against the
document of the test's prefix, channel by channel.

For each record of the department, local dialect, canonical and dead-letter topics of one item:

- its headers are the message's headers: every required one present, none that is not described;
- its key is what the message's key says (the envelope's ``record_key``; a dead letter keeps the original key);
- an Avro value is in the Confluent wire format, and its schema id is the one registered under the message's
  subject, which holds the message's Avro payload schema.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import fastavro
import pytest
from confluent_kafka import Message
from normaliser_support import Encoders, NormaliserRun, Sent, make_settings, produce, wait_for

from govbus import clients
from govbus.asyncapi import bus_document
from govbus.demo.dialect_samples import canonical_records, change_event, samples
from govbus.publisher import Publisher, PublisherSettings
from govbus.serde import WireDecoder
from govbus.topic_reader import read_topic
from schemas.catalogue import load_catalogue
from streams.dialects import get_dialect
from streams.normalising.settings import NormaliserSettings
from streams.normalising.topics import ensure_normaliser_topics
from testsupport.connections import registry_at

ITEM = "enterprise_registration"
LOCAL = "zhejiang-aic-v2"
POISON = b"poison"


@pytest.fixture
def settings(kafka_bootstrap: str, registry_url: str) -> NormaliserSettings:
    return make_settings(kafka_bootstrap, registry_url, normaliser_items=(ITEM,), normaliser_partitions=1)


def _message_of(document: dict[str, Any], topic: str) -> Callable[[Message], dict[str, Any]]:
    """The document's message for a record of ``topic`` (a dead-letter topic has one kind)."""
    [channel] = [c for c in document["channels"].values() if c["address"] == topic]
    [reference] = channel["messages"].values()
    message: dict[str, Any] = document["components"]["messages"][reference["$ref"].rsplit("/", 1)[1]]
    return lambda _record: message


def _schema(document: dict[str, Any], reference: dict[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"][reference["$ref"].rsplit("/", 1)[1]]
    return found


def _canonical_form(schema: dict[str, Any] | str) -> str:
    parsed = fastavro.parse_schema(json.loads(schema) if isinstance(schema, str) else schema)
    return str(fastavro.schema.to_parsing_canonical_form(parsed))


def check_record(document: dict[str, Any], message: dict[str, Any], record: Message, decoder: WireDecoder,
                 registry: Any) -> None:
    """``record`` is what ``message`` describes (see the module docstring)."""
    names = {name for name, _ in record.headers() or []}
    if "headers" in message:
        described = _schema(document, message["headers"])
        assert set(described["required"]) <= names <= set(described["properties"]), (record.topic(), names)
    value, key = record.value(), (record.key() or b"").decode()
    subject = message.get("x-registry-subject")
    if subject is None:
        return
    assert isinstance(value, bytes) and value[0] == 0, "the Confluent wire format starts with a zero byte"
    registered = registry.get_latest_version(subject)
    assert int.from_bytes(value[1:5], "big") == registered.schema_id, subject
    payload = _schema(document, message["payload"])
    assert _canonical_form(registered.schema.schema_str) == _canonical_form(payload["schema"]), subject
    assert key == decoder.decode(value).value["record_key"]


def _publish(settings: NormaliserSettings, record: dict[str, Any]) -> None:
    publisher_settings = PublisherSettings(kafka=settings.kafka, registry=settings.registry,
                                           topic_prefix=settings.topic_prefix)
    with Publisher("market-regulation", "asyncapi-test", settings=publisher_settings) as publisher:
        publisher.publish(ITEM, record).result(timeout=60)


def test_records_on_the_topics_are_what_the_document_says(settings: NormaliserSettings, run: NormaliserRun) -> None:
    ensure_normaliser_topics(settings)
    prefix = settings.topic_prefix
    item = load_catalogue().get(ITEM)
    _publish(settings, canonical_records(item, 1, seed=13)[0])
    local = get_dialect(ITEM, LOCAL)
    [sample] = samples(ITEM, LOCAL, 1, bad_share=0.0, seed=13)
    encoders = Encoders(settings.registry.url, prefix)
    event = change_event(sample, local.department, random.Random(13))
    department = get_dialect(ITEM, "canonical").topic(prefix)
    produce(settings.kafka.bootstrap, [Sent(local.topic(prefix), sample.key.encode(), encoders.encode(local, event)),
                                       Sent(department, POISON, b"this is not Avro")])
    run.start("normaliser")
    topics = item.topics(prefix)
    wait_for(lambda: len(read_topic(settings.kafka, topics.canonical, timeout=10)) >= 2
             and len(read_topic(settings.kafka, topics.dead_letter, timeout=10)) >= 1, 90,
             "two canonical events and one dead letter", run=run, interval=1.0)

    document = bus_document(prefix)
    registry = clients.registry_client(registry_at(settings.registry.url))
    decoder = WireDecoder(registry)
    checked = {}
    for topic in (department, local.topic(prefix), topics.canonical, topics.dead_letter):
        described = _message_of(document, topic)
        records = read_topic(settings.kafka, topic)
        for record in records:
            if record.key() != POISON:  # not a department event at all: the document describes its dead letter
                check_record(document, described(record), record, decoder, registry)
        checked[topic] = len(records)
    assert checked == {department: 2, local.topic(prefix): 1, topics.canonical: 2, topics.dead_letter: 1}
