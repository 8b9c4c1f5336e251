"""The walking skeleton end to end on the real broker and registry:
publish (AvroSerializer) -> faust validator -> canonical topic -> HTTP push -> receiver,
with invalid and undecodable records in the dead-letter topic."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from connectors.reference_receiver import ReferenceReceiver
from govbus.platform.components import Component, start_component
from govbus.platform.processes import free_port
from govbus.skeleton_publish import PublishMetrics, enterprise_event, publish_events, publish_raw
from govbus.synthetic import enterprise_registrations
from govbus.topic_reader import read_topic
from govbus.topics import TopicSpec, ensure_topics
from streams.dead_letters import DeadLetter

POISON = [(b"poison-1", b"this is not Avro"), (b"poison-2", b"\x00\x00\x0f\x42\x3fno such schema id")]


@pytest.fixture
def skeleton(kafka_bootstrap: str, registry_url: str, unique_name: Callable[[str], str],
             tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {
        "GOVBUS_KAFKA_BOOTSTRAP": kafka_bootstrap, "GOVBUS_REGISTRY_URL": registry_url,
        "GOVBUS_SKELETON_SOURCE_TOPIC": unique_name("dept-enterprise"),
        "GOVBUS_SKELETON_CANONICAL_TOPIC": unique_name("canonical-enterprise"),
        "GOVBUS_SKELETON_DEAD_LETTER_TOPIC": unique_name("dead-letter-enterprise"),
        "GOVBUS_SKELETON_APP_ID": unique_name("validator"),
        "GOVBUS_SKELETON_METRICS_PORT": str(free_port()),
        "GOVBUS_PUSH_GROUP": unique_name("push"), "GOVBUS_PUSH_METRICS_PORT": str(free_port()),
    }
    env["GOVBUS_PUSH_TOPIC"] = env["GOVBUS_SKELETON_CANONICAL_TOPIC"]
    topics = [env[k] for k in ("GOVBUS_SKELETON_SOURCE_TOPIC", "GOVBUS_SKELETON_CANONICAL_TOPIC",
                               "GOVBUS_SKELETON_DEAD_LETTER_TOPIC")]
    ensure_topics(kafka_bootstrap, [TopicSpec(t, partitions=3) for t in topics])
    yield env


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def _metric(port: str, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples if sample.name == name)


def test_valid_records_reach_the_receiver_once_and_bad_ones_are_dead_lettered(
    skeleton: dict[str, str], kafka_bootstrap: str, registry_url: str, tmp_path: Path,
) -> None:
    synthetic = enterprise_registrations(80, invalid_share=0.2, seed=11)
    events = [enterprise_event(s.record) for s in synthetic]
    valid_ids = {str(e.event_id) for e, s in zip(events, synthetic, strict=True) if s.broken_rule is None}
    invalid_ids = {str(e.event_id) for e, s in zip(events, synthetic, strict=True) if s.broken_rule}
    assert valid_ids and invalid_ids

    components: list[Component] = []
    with ReferenceReceiver(fail_share=0.25) as receiver:
        env = {**skeleton, "GOVBUS_PUSH_URL": receiver.url}
        try:
            components.append(start_component("validator", "streams.skeleton", env, tmp_path / "validator.log"))
            components.append(start_component("push", "connectors.http_push", env, tmp_path / "push.log"))
            collector = CollectorRegistry()
            source = skeleton["GOVBUS_SKELETON_SOURCE_TOPIC"]
            report = publish_events(kafka_bootstrap, registry_url, source, events, metrics=PublishMetrics(collector))
            assert report.delivered == len(events) and not report.failed
            published = collector.get_sample_value("govbus_publisher_records_published_total", {"topic": source})
            assert published == len(events)
            assert publish_raw(kafka_bootstrap, skeleton["GOVBUS_SKELETON_SOURCE_TOPIC"], POISON) == len(POISON)

            _wait_for(lambda: len(receiver.events.applied) >= len(valid_ids), 120, "valid events at the receiver")
            dead_topic = skeleton["GOVBUS_SKELETON_DEAD_LETTER_TOPIC"]
            _wait_for(lambda: len(read_topic(kafka_bootstrap, dead_topic)) >= len(invalid_ids) + len(POISON),
                      60, "dead letters")
            time.sleep(3)  # anything extra would arrive now

            assert set(receiver.events.applied) == valid_ids
            assert receiver.events.duplicates == 0
            assert receiver.events.refused > 0, "the receiver's refusals must have been retried"

            dead = read_topic(kafka_bootstrap, dead_topic)
            assert len(dead) == len(invalid_ids) + len(POISON)
            letters = [(DeadLetter.from_headers(m.headers()), m) for m in dead]
            validation = [(letter, m) for letter, m in letters if letter.stage == "validate"]
            decoding = [(letter, m) for letter, m in letters if letter.stage == "decode"]
            assert len(validation) == len(invalid_ids)
            assert all(letter.field == "uscc" and letter.rule == "uscc.check_character"
                       and "check character" in letter.reason for letter, _ in validation)
            assert sorted((m.key(), m.value()) for _, m in decoding) == sorted(POISON)
            assert all(letter.source_topic == skeleton["GOVBUS_SKELETON_SOURCE_TOPIC"] for letter, _ in letters)

            canonical = read_topic(kafka_bootstrap, skeleton["GOVBUS_SKELETON_CANONICAL_TOPIC"])
            assert len(canonical) == len(valid_ids)

            processor_port, push_port = skeleton["GOVBUS_SKELETON_METRICS_PORT"], skeleton["GOVBUS_PUSH_METRICS_PORT"]
            assert _metric(processor_port, "govbus_processor_records_processed_total") == len(events) + len(POISON)
            assert _metric(processor_port, "govbus_processor_records_dead_lettered_total") == len(dead)
            assert _metric(push_port, "govbus_push_delivered_total") == len(valid_ids)
        finally:
            for component in components:
                component.stop()
        assert not any(c.alive() for c in components)
