"""The walking skeleton's path end to end, through the real normaliser, on the real broker and registry:

market regulation's existing producer (AvroSerializer) -> department topic -> ``python -m streams.normaliser``
(Kafka transactions) -> canonical topic -> HTTP push (``connectors.http_push``) -> reference receiver,
with invalid and undecodable records in the dead-letter topic, each with its reason.

Counted per record: every valid event reaches the receiver exactly once and the canonical topic once,
every invalid or undecodable one is in the dead-letter topic once, and nothing else arrives anywhere.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from connectors.reference_receiver import ReferenceReceiver
from govbus import clients
from govbus.catalogue_topics import sync_topics
from govbus.demo.synthetic import enterprise_registrations
from govbus.platform.components import Component, start_component
from govbus.platform.processes import free_port, wait_until
from govbus.serde import WireDecoder
from govbus.skeleton_publish import PublishMetrics, enterprise_event, publish_events, publish_raw
from govbus.topic_names import ItemTopics, item_topics
from govbus.topic_reader import read_topic
from schemas.catalogue import load_catalogue
from streams.dead_letters import DeadLetter
from testsupport.connections import kafka_at, registry_at

ITEM = "enterprise_registration"
POISON = [(b"poison-1", b"this is not Avro"), (b"poison-2", b"\x00\x00\x0f\x42\x3fno such schema id")]


@pytest.fixture
def prefix() -> str:
    """A topic prefix of this test's own (topics and subjects)."""
    return f"govbus.test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def topics(kafka_bootstrap: str, prefix: str) -> ItemTopics:
    """The item's department, canonical and dead-letter topics, created as `govbus topics sync`
    creates them (the normaliser creates the other topics it reads)."""
    sync_topics(kafka_at(kafka_bootstrap), [load_catalogue().get(ITEM)], prefix, partitions=3)
    return item_topics("market-regulation", ITEM, prefix)


@pytest.fixture
def flow_env(kafka_bootstrap: str, registry_url: str, unique_name: Callable[[str], str], prefix: str,
             topics: ItemTopics, tmp_path: Path) -> dict[str, str]:
    return {
        "GOVBUS_KAFKA__BOOTSTRAP": kafka_bootstrap, "GOVBUS_REGISTRY__URL": registry_url, "GOVBUS_TOPIC_PREFIX": prefix,
        "GOVBUS_NORMALISER_ITEMS": ITEM, "GOVBUS_NORMALISER_APP_ID": unique_name("normaliser"),
        "GOVBUS_NORMALISER_METRICS_PORT": str(free_port()), "GOVBUS_STREAMS_STATE_DIR": str(tmp_path / "state"),
        "GOVBUS_PUSH_TOPIC": topics.canonical, "GOVBUS_PUSH_GROUP": unique_name("push"),
        "GOVBUS_PUSH_METRICS_PORT": str(free_port()),
        "GOVBUS_PUSH_RETRY_INITIAL_SECONDS": "0.05", "GOVBUS_PUSH_RETRY_JITTER_SECONDS": "0.05",
    }


def _metric(port: str, name: str, **labels: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == name and labels.items() <= sample.labels.items())


def test_valid_records_reach_the_receiver_exactly_once_and_bad_ones_are_dead_lettered(
    flow_env: dict[str, str], topics: ItemTopics, kafka_bootstrap: str, registry_url: str, tmp_path: Path,
) -> None:
    synthetic = enterprise_registrations(80, invalid_share=0.2, seed=11)
    events = [enterprise_event(s.record) for s in synthetic]
    valid = {str(e.event_id): e for e, s in zip(events, synthetic, strict=True) if s.broken_rule is None}
    invalid = {str(e.event_id): e for e, s in zip(events, synthetic, strict=True) if s.broken_rule}
    assert valid and invalid

    components: list[Component] = []
    with ReferenceReceiver(fail_share=0.25) as receiver:
        env = {**flow_env, "GOVBUS_PUSH_URL": receiver.url}
        try:
            normaliser = start_component("normaliser", "streams.normaliser", env, tmp_path / "normaliser.log")
            components.append(normaliser)
            components.append(start_component("push", "connectors.http_push", env, tmp_path / "push.log"))
            collector = CollectorRegistry()
            report = publish_events(kafka_at(kafka_bootstrap), registry_at(registry_url), topics.department, events,
                                    metrics=PublishMetrics(collector))
            assert report.delivered == len(events) and not report.failed
            published = collector.get_sample_value("govbus_publisher_records_published_total",
                                                   {"topic": topics.department})
            assert published == len(events)
            assert publish_raw(kafka_at(kafka_bootstrap), topics.department, POISON) == len(POISON)

            def running() -> bool:
                return all(c.alive() for c in components)

            wait_until(lambda: len(receiver.events.applied) >= len(valid), 120, "every valid event at the receiver",
                       alive=running, log_path=normaliser.log_path)
            kafka = kafka_at(kafka_bootstrap)
            wait_until(lambda: len(read_topic(kafka, topics.dead_letter)) >= len(invalid) + len(POISON),
                       60, "every dead letter", alive=running, log_path=normaliser.log_path)
            time.sleep(3)  # anything extra (a second copy, a stray record) would be committed by now
            assert running()

            # the receiver: each valid event applied once, delivered (2xx) once, nothing else
            assert receiver.events.deliveries_per_key == Counter(dict.fromkeys(valid, 1))
            assert receiver.events.duplicates == 0
            assert receiver.events.refused > 0, "the receiver's refusals must have been retried"
            for event_id, body in receiver.events.applied.items():
                key = valid[event_id].record_key  # the unified social credit code
                assert body["data_item"] == ITEM and body["record_key"] == key and body["record"]["uscc"] == key

            decoder = WireDecoder(clients.registry_client(registry_at(registry_url)))

            def event_id_of(value: bytes | None) -> str:
                return str(decoder.decode(value).value["event_id"])

            canonical = read_topic(kafka_at(kafka_bootstrap), topics.canonical)
            assert Counter(event_id_of(m.value()) for m in canonical) == Counter(list(valid))
            assert all(m.key() == valid[event_id_of(m.value())].record_key.encode() for m in canonical)

            # the dead letters: each invalid event once, with its original bytes and its reason; each poison once
            dead = read_topic(kafka_at(kafka_bootstrap), topics.dead_letter)
            letters = [(DeadLetter.from_headers(m.headers()), m) for m in dead]
            assert len(letters) == len(invalid) + len(POISON)
            validation = [(letter, m) for letter, m in letters if letter.stage == "validate"]
            decoding = [(letter, m) for letter, m in letters if letter.stage == "decode"]
            assert len(validation) + len(decoding) == len(letters)
            assert Counter(event_id_of(m.value()) for _, m in validation) == Counter(list(invalid))
            assert all(letter.field == "uscc" and letter.rule == "uscc.check_character"
                       and "check character" in letter.reason for letter, _ in validation)
            assert sorted((m.key(), m.value()) for _, m in decoding) == sorted(POISON)
            assert all(letter.rule == "wire_format" and letter.reason for letter, _ in decoding)
            assert all(letter.source_topic == topics.department for letter, _ in letters)
            assert len({(letter.source_partition, letter.source_offset) for letter, _ in letters}) == len(letters)

            port, push_port = flow_env["GOVBUS_NORMALISER_METRICS_PORT"], flow_env["GOVBUS_PUSH_METRICS_PORT"]
            assert _metric(port, "govbus_normaliser_records_processed_total", item=ITEM) == len(events) + len(POISON)
            assert _metric(port, "govbus_normaliser_records_canonical_total", item=ITEM) == len(valid)
            assert _metric(port, "govbus_normaliser_records_rejected_total", item=ITEM) == len(letters)
            assert _metric(port, "govbus_normaliser_records_rejected_total", item=ITEM,
                           rule="uscc.check_character") == len(invalid)
            assert _metric(port, "govbus_normaliser_records_deduplicated_total", item=ITEM) == 0
            assert _metric(push_port, "govbus_push_delivered_total") == len(valid)
        finally:
            for component in components:
                component.stop()
        assert not any(c.alive() for c in components)
