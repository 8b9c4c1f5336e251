"""The webhook connector as a process against real receivers: a flaky, hanging one; a throttling one;
one that always fails (next to a healthy subscriber)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

from webhook_support import Behaviour, CanonicalWriter, SigningReceiver, metric, subscription, wait_for

from consumers.audit_reader import read_audit
from govbus import clients
from govbus.audit import Outcome
from govbus.demo.synthetic_items import records_for
from govbus.platform.components import Component
from govbus.platform.processes import free_port
from govbus.sharing.runtime import consumer_group
from govbus.sharing.store import SharingStore
from govbus.topic_names import parked_topic
from govbus.topic_reader import read_topic
from testsupport.connections import kafka_at

ITEM = "enterprise_registration"
FIELDS = ["uscc", "name", "legal_representative", "status", "division_code"]


def _publish_versions(writer: CanonicalWriter, keys: int, versions: int, deletes: int) -> dict[str, list[str]]:
    """``versions`` updates of ``keys`` records, interleaved, then deletes of the first ``deletes`` keys;
    record key -> its event ids in publication order."""
    records = [s.record for s in records_for(writer.catalogue.get(ITEM), keys, 0.0, seed=3)]
    statuses = itertools.cycle(["ESTABLISHED", "CHANGED", "REVOKED", "CANCELLED"])
    published: dict[str, list[str]] = {}
    for _ in range(versions):
        for record in records:
            record = {**record, "status": next(statuses)}
            published.setdefault(record["uscc"], []).append(writer.write(ITEM, record))
    for record in records[:deletes]:
        published[record["uscc"]].append(writer.write(ITEM, None, key=record["uscc"], operation="DELETE"))
    writer.flush()
    return published


def test_a_flaky_hanging_receiver_gets_every_event_once_and_in_key_order(
        sharing: SharingStore, canonical: Callable[..., str], writer: CanonicalWriter,
        connectors: Callable[..., Component], secret: str, kafka_bootstrap: str, prefix: str) -> None:
    canonical(ITEM, partitions=3)
    published = _publish_versions(writer, keys=30, versions=4, deletes=10)
    events = {e for ids in published.values() for e in ids}
    behaviour = Behaviour(fail_share=0.3, hang_share=0.12, hang_seconds=1.5, seed=14)
    with SigningReceiver(secret, behaviour) as receiver:
        sharing.put_subscription(subscription("flaky", receiver.url, {"item": ITEM, "fields": FIELDS}))
        port = free_port()
        connector = connectors("flaky", port, GOVBUS_WEBHOOK_BATCH_SIZE="5")
        wait_for(lambda: set(receiver.received.applied) >= events, 150, "every event applied", connector.log_path)
        wait_for(lambda: metric(port, "govbus_webhook_delivered_total") >= len(events), 30, "delivered metric")
        got = receiver.received
        assert set(got.applied) == events
        assert got.order == published, "per-key order must hold"
        assert got.bad_signatures == 0
        refused = sum(1 for _, status in got.requests if status == 503)
        assert refused > 0 and got.hung > 0, "the receiver must have failed and hung some requests"
        assert got.duplicates > 0, "hung requests were applied, timed out and sent again: deduped by key"
        deletes = [got.applied[ids[-1]] for ids in list(published.values())[:10]]
        assert all(d["operation"] == "DELETE" and d["record"] is None for d in deletes)
        upsert = next(e for e in got.applied.values() if e["operation"] == "UPSERT")
        assert set(upsert["record"]) == set(FIELDS) and upsert["masked_fields"] == ["legal_representative"]
        assert upsert["record"]["legal_representative"].endswith("*")

        assert metric(port, "govbus_webhook_delivered_total") == len(events)
        assert metric(port, "govbus_webhook_failed_attempts_total", reason="503") == refused
        assert metric(port, "govbus_webhook_failed_attempts_total", reason="timeout") >= 1
        assert metric(port, "govbus_webhook_parked_total") == 0
        assert metric(port, "govbus_webhook_batch_seconds_count") >= len(events) / 5
    audit = [r for r in read_audit(kafka_at(kafka_bootstrap), prefix) if r.subscription == "flaky"]
    assert {r.event_id for r in audit if r.outcome is Outcome.DELIVERED} == events
    assert all(r.subscriber == "flaky-centre" and r.connector == "webhook" for r in audit)


def test_429_with_retry_after_is_waited_as_asked(
        sharing: SharingStore, canonical: Callable[..., str], writer: CanonicalWriter,
        connectors: Callable[..., Component], secret: str) -> None:
    canonical(ITEM, partitions=1)
    published = _publish_versions(writer, keys=5, versions=1, deletes=0)
    with SigningReceiver(secret, Behaviour(throttle_first=2, retry_after="2")) as receiver:
        sharing.put_subscription(subscription("throttled", receiver.url, {"item": ITEM, "fields": ["uscc"]}))
        port = free_port()
        connector = connectors("throttled", port)
        wait_for(lambda: len(receiver.received.applied) == 5, 60, "the events after the 429s", connector.log_path)
        times = [t for t, _ in receiver.received.requests]
        statuses = [s for _, s in receiver.received.requests]
        assert statuses[:3] == [429, 429, 200]
        gaps = [b - a for a, b in itertools.pairwise(times[:3])]
        assert all(2.0 <= gap < 3.5 for gap in gaps), f"Retry-After: 2 must be waited, not the backoff: {gaps}"
        assert metric(port, "govbus_webhook_failed_attempts_total", reason="429") == 2
        assert set(receiver.received.applied) == {e for ids in published.values() for e in ids}


def test_a_receiver_that_always_fails_gets_its_events_parked_while_another_subscriber_gets_them_all(
        sharing: SharingStore, canonical: Callable[..., str], writer: CanonicalWriter,
        connectors: Callable[..., Component], secret: str, kafka_bootstrap: str, prefix: str,
        tmp_path: Path) -> None:
    topic = canonical(ITEM, partitions=2)
    published = _publish_versions(writer, keys=20, versions=2, deletes=0)
    events = {e for ids in published.values() for e in ids}
    with SigningReceiver(secret, Behaviour(status=500)) as broken, SigningReceiver(secret) as healthy:
        sharing.put_subscription(subscription("broken", broken.url, {"item": ITEM, "fields": ["uscc", "name"]}))
        sharing.put_subscription(subscription("healthy", healthy.url, {"item": ITEM, "fields": ["uscc", "name"]}))
        broken_port, healthy_port = free_port(), free_port()
        bad = connectors("broken", broken_port, GOVBUS_WEBHOOK_MAX_ATTEMPTS="3", GOVBUS_WEBHOOK_BATCH_SIZE="10")
        connectors("healthy", healthy_port)
        wait_for(lambda: set(healthy.received.applied) == events, 60, "the healthy subscriber's events")
        wait_for(lambda: metric(broken_port, "govbus_webhook_parked_total") == len(events), 60,
                 "every event parked", bad.log_path)
        assert not broken.received.applied
        assert len(broken.received.requests) == 3 * metric(broken_port, "govbus_webhook_batches_total")
        failed = metric(broken_port, "govbus_webhook_failed_attempts_total", reason="500")
        assert failed == len(broken.received.requests)

    parked = read_topic(kafka_at(kafka_bootstrap), parked_topic("broken", prefix))
    assert len(parked) == len(events)
    for message in parked:
        headers = {k: v.decode() for k, v in message.headers() or []}
        body = json.loads(message.value())
        assert headers["govbus.parked.content"] == "shaped", "what the subscriber was to receive"
        assert body["event_id"] == headers["govbus.parked.event_id"] and set(body["record"]) == {"uscc", "name"}
        assert message.key() == body["record_key"].encode() and message.value() != writer.values[body["event_id"]]
        assert headers["govbus.parked.attempts"] == "3" and "500" in headers["govbus.parked.reason"]
        assert headers["govbus.parked.source.topic"] == topic and headers["govbus.parked.subscription"] == "broken"
    audit = [r for r in read_audit(kafka_at(kafka_bootstrap), prefix) if r.subscription == "broken"]
    assert {r.event_id for r in audit} == events
    assert all(r.outcome is Outcome.PARKED and r.attempts == 3 and "500" in (r.reason or "") for r in audit)
    assert all(not r.fields_delivered for r in audit)
    assert _committed_all(kafka_bootstrap, consumer_group("broken", prefix), topic), "parked events are committed"
    print(json.dumps({"parked": len(parked)}))


def _committed_all(bootstrap: str, group: str, topic: str) -> bool:
    from confluent_kafka import TopicPartition

    consumer = clients.consumer(kafka_at(bootstrap), group, {"enable.auto.commit": False})
    try:
        numbers = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        partitions = [TopicPartition(topic, p) for p in numbers]
        committed = consumer.committed(partitions, timeout=10)
        return all(tp.offset == consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in committed)
    finally:
        consumer.close()


def test_an_undecodable_event_is_parked_by_the_runtime_and_the_others_are_delivered(
        sharing: SharingStore, canonical: Callable[..., str], writer: CanonicalWriter,
        connectors: Callable[..., Component], secret: str, kafka_bootstrap: str, prefix: str) -> None:
    topic = canonical(ITEM, partitions=1)
    records = [s.record for s in records_for(writer.catalogue.get(ITEM), 10, 0.0, seed=8)]
    events = {writer.write(ITEM, record) for record in records[:5]}
    writer.flush()
    producer = clients.producer(kafka_at(kafka_bootstrap))
    producer.produce(topic, key=b"poison", value=b"not avro at all")
    assert producer.flush(30) == 0
    events |= {writer.write(ITEM, record) for record in records[5:]}
    writer.flush()
    with SigningReceiver(secret) as receiver:
        sharing.put_subscription(subscription("poisoned", receiver.url, {"item": ITEM, "fields": FIELDS}))
        port = free_port()
        connector = connectors("poisoned", port)
        wait_for(lambda: set(receiver.received.applied) == events, 60, "the ten good events", connector.log_path)
        wait_for(lambda: metric(port, "govbus_sink_bad_messages_total", sink="poisoned", policy="park") == 1, 30,
                 "the bad record counted")
        assert set(receiver.received.applied) == events, "nothing lost, nothing unexpected"
        assert receiver.received.duplicates == 0
    [parked] = read_topic(kafka_at(kafka_bootstrap), parked_topic("poisoned", prefix))
    headers = {k: (v or b"").decode() for k, v in parked.headers() or []}
    assert parked.value() == b"not avro at all" and parked.key() == b"poison"
    assert headers["govbus.dlq.reason"].startswith("undecodable") and headers["govbus.dlq.sink"] == "poisoned"
    audit = [r for r in read_audit(kafka_at(kafka_bootstrap), prefix) if r.subscription == "poisoned"]
    assert sorted(r.outcome for r in audit) == sorted([Outcome.DELIVERED] * 10 + [Outcome.PARKED])
