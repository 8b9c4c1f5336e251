"""The Publisher SDK against the real broker and registry."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from govbus import clients
from govbus.demo.synthetic import enterprise_registrations
from govbus.exceptions import ConfigurationError, DeliveryError, RegistryError, ValidationError
from govbus.platform.processes import free_port
from govbus.publisher import Delivery, NotOwnerError, Publisher, PublisherSettings
from govbus.serde import WireDecoder
from govbus.topic_reader import read_topic
from testsupport.connections import kafka_at, registry_at

ITEM = "enterprise_registration"
OWNER = "market-regulation"


def _valid_records(count: int, seed: int = 3) -> list[dict[str, object]]:
    return [s.record for s in enterprise_registrations(count, invalid_share=0.0, seed=seed)]


def test_published_events_are_acknowledged_keyed_and_decodable(
    item_topics: Callable[..., str], kafka_bootstrap: str, registry_url: str,
) -> None:
    topic = item_topics(ITEM)
    records = _valid_records(25)
    event_id = uuid.uuid4()
    with Publisher(OWNER, "registration-db") as publisher:
        futures = [publisher.publish(ITEM, r) for r in records[1:]]
        futures.insert(0, publisher.publish(ITEM, records[0], event_id=event_id, trace_id="trace-1"))
        report = publisher.flush()
    deliveries = [f.result(timeout=0) for f in futures]
    assert report.delivered == len(records) and report.failed == 0
    assert deliveries[0].event_id == str(event_id)
    assert all(d.topic == topic and d.offset >= 0 for d in deliveries)

    messages = read_topic(kafka_at(kafka_bootstrap), topic)
    assert len(messages) == len(records)
    registry = clients.registry_client(registry_at(registry_url))
    decoder = WireDecoder(registry)
    by_key = {m.key().decode(): decoder.decode(m.value()).value for m in messages}
    assert set(by_key) == {r["uscc"] for r in records}
    first = by_key[records[0]["uscc"]]
    assert first["event_id"] == event_id and first["trace_id"] == "trace-1"  # fastavro reads uuid as UUID
    assert first["department"] == OWNER and first["source_system"] == "registration-db"
    assert first["operation"] == "UPSERT" and first["record"]["name"] == records[0]["name"]
    # the standard Confluent deserializer reads the same bytes
    standard = AvroDeserializer(registry)(messages[0].value(), SerializationContext(topic, MessageField.VALUE))
    assert standard["record_key"] == messages[0].key().decode()


def test_a_department_cannot_publish_an_item_it_does_not_own(item_topics: Callable[..., str]) -> None:
    item_topics(ITEM)
    with Publisher("taxation") as publisher, pytest.raises(NotOwnerError, match="market-regulation"):
        publisher.publish(ITEM, _valid_records(1)[0])


def test_a_bad_record_raises_a_validation_error_naming_the_field(item_topics: Callable[..., str]) -> None:
    item_topics(ITEM)
    record = dict(_valid_records(1)[0])
    record["uscc"] = record["uscc"][:17] + ("0" if record["uscc"][17] != "0" else "1")
    with Publisher(OWNER) as publisher:
        with pytest.raises(ValidationError) as raised:
            publisher.publish(ITEM, record)
        assert raised.value.field == "uscc"
        assert "check character" in str(raised.value)
        assert publisher.flush().delivered == 0


def test_delete_events_carry_no_record(item_topics: Callable[..., str], kafka_bootstrap: str,
                                       registry_url: str) -> None:
    topic = item_topics(ITEM)
    key = _valid_records(1)[0]["uscc"]
    with Publisher(OWNER) as publisher:
        delivery = publisher.delete(ITEM, str(key)).result(timeout=30)
    [message] = read_topic(kafka_at(kafka_bootstrap), topic)
    event = WireDecoder(clients.registry_client(registry_at(registry_url))).decode(message.value()).value
    assert (event["operation"], event["record"], str(event["event_id"])) == ("DELETE", None, delivery.event_id)


def test_delivery_failures_reach_the_future_the_callback_and_flush(item_topics: Callable[..., str]) -> None:
    # The broker refuses records larger than this topic's max.message.bytes: a real delivery failure.
    item_topics(ITEM, partitions=1, config={"max.message.bytes": "600"})
    small, large = _valid_records(2, seed=9)
    incompressible = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(400))  # beats lz4
    large = {**large, "business_scope": incompressible}
    seen: list[str] = []
    with Publisher(OWNER) as publisher:
        ok = publisher.publish(ITEM, small)
        publisher.flush()  # alone in its batch: the broker judges each batch's size
        failing = publisher.publish(ITEM, large, on_delivery=lambda d, e: seen.append("failed" if e else "ok"))
        report = publisher.flush()
    assert ok.result(timeout=0).offset >= 0
    with pytest.raises(DeliveryError, match="not delivered"):
        failing.result(timeout=0)
    assert seen == ["failed"]
    assert (report.delivered, report.failed) == (0, 1)  # counts since the previous flush


def test_publish_many_gives_one_outcome_per_record_in_order(item_topics: Callable[..., str], kafka_bootstrap: str,
                                                           registry_url: str) -> None:
    topic = item_topics(ITEM)
    records: list[dict[str, object]] = list(_valid_records(40, seed=11))
    for refused in (1, 17, 39):  # a refused record does not stop the others
        records[refused] = {**records[refused], "uscc": "not-a-uscc"}
    with Publisher(OWNER, "bulk") as publisher:
        outcomes = publisher.publish_many(ITEM, records[:25]) + publisher.publish_many(ITEM, iter(records[25:]))
    assert [i for i, o in enumerate(outcomes) if isinstance(o, ValidationError)] == [1, 17, 39]
    assert all(o.field == "uscc" for o in outcomes if isinstance(o, ValidationError))
    delivered = [o for o in outcomes if isinstance(o, Delivery)]
    assert len(delivered) == 37 and [d.record_key for d in delivered] == [
        r["uscc"] for i, r in enumerate(records) if i not in (1, 17, 39)]
    decoder = WireDecoder(clients.registry_client(registry_at(registry_url)))
    stored = {str(decoder.decode(m.value()).value["event_id"]): m for m in read_topic(kafka_at(kafka_bootstrap), topic)}
    assert set(stored) == {d.event_id for d in delivered}, "every delivered event is stored once, nothing else"
    for delivery in delivered:
        message = stored[delivery.event_id]
        assert (message.partition(), message.offset(), message.key().decode()) == (
            delivery.partition, delivery.offset, delivery.record_key)


def test_publish_many_reports_a_record_the_broker_refused(item_topics: Callable[..., str]) -> None:
    item_topics(ITEM, partitions=1, config={"max.message.bytes": "600"})
    incompressible = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(400))  # beats lz4
    large = {**_valid_records(1, seed=12)[0], "business_scope": incompressible}
    with Publisher(OWNER) as publisher:
        [outcome] = publisher.publish_many(ITEM, [large])
        report = publisher.flush()
    assert isinstance(outcome, DeliveryError) and "not delivered" in str(outcome)
    assert (report.delivered, report.failed) == (0, 1)


def test_a_missing_topic_is_named_with_the_command_that_creates_it(platform_env: dict[str, str]) -> None:
    with Publisher(OWNER) as publisher, pytest.raises(ConfigurationError, match="govbus topics sync"):
        publisher.publish(ITEM, _valid_records(1)[0])


def test_a_registry_that_does_not_answer_is_a_registry_error_saying_what_to_check(
        item_topics: Callable[..., str], kafka_bootstrap: str) -> None:
    """Found by the province scenario's registry restart: a Publisher whose first record of an item met a registry
    that was down raised the HTTP client's own ConnectError, which no caller expects; it is a RegistryError now."""
    item_topics(ITEM)
    nowhere = registry_at(f"http://127.0.0.1:{free_port()}")
    settings = PublisherSettings(kafka=kafka_at(kafka_bootstrap), registry=nowhere)
    with Publisher(OWNER, settings=settings) as publisher, \
            pytest.raises(RegistryError, match=r"did not answer .* GOVBUS_REGISTRY__URL") as refused:
        publisher.publish(ITEM, _valid_records(1)[0])
    assert "ConnectError" in str(refused.value)
