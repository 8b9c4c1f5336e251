"""Scale-out: a second worker process of the app (same app id, its own metrics port and data dir)
joins while the first one works; they share the partitions and leave the same final profiles as a
single worker over the same input."""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path

import httpx
from profiles_support import (
    ProfileDecoder,
    ProfileRun,
    end_offsets,
    mismatches,
    output_messages,
    profile_env,
    stable_members,
    wait_caught_up,
    wait_for,
)
from prometheus_client.parser import text_string_to_metric_families

from govbus.platform.components import Component
from govbus.testing.profile_inputs import CanonicalProducer, expected_final_profiles, profile_scenario
from schemas.catalogue.profiles import load_profiles
from streams.profiles.topology import ensure_profile_topics

DEFINITIONS = load_profiles()
log = logging.getLogger(__name__)


def _handled(worker: Component, topics: set[str]) -> tuple[set[tuple[str, str]], float]:
    """(topic, partition) pairs of ``topics`` the worker took events from, and the forwards it applied."""
    text = httpx.get(f"http://127.0.0.1:{worker.metrics_port}/metrics", timeout=5).text  # type: ignore[attr-defined]
    samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
    partitions = {(s.labels["topic"], s.labels["partition"]) for s in samples
                  if s.name == "govbus_profile_consumer_lag" and s.labels["topic"] in topics}
    applied = sum(s.value for s in samples if s.name == "govbus_profile_inputs_total"
                  and s.labels["outcome"] == "applied")
    return partitions, applied


def test_two_workers_share_the_partitions_and_build_what_one_builds(
    kafka_bootstrap: str, registry_url: str, tmp_path: Path,
) -> None:
    prefix = f"govbus.t-{uuid.uuid4().hex[:10]}"
    events = profile_scenario(DEFINITIONS, anchors_per_profile=80, seed=43)
    pair = ProfileRun(profile_env(kafka_bootstrap, registry_url, prefix), tmp_path / "pair")
    single = ProfileRun(profile_env(kafka_bootstrap, registry_url, prefix,
                                    GOVBUS_PROFILES_OUTPUT_PREFIX=f"{prefix}.single"), tmp_path / "single")
    for run in (pair, single):
        ensure_profile_topics(run.settings)
    producer = CanonicalProducer(kafka_bootstrap, registry_url, prefix)
    third = len(events) // 3
    producer.produce(events[:third])
    inputs = {pair.topology.input_topic(d.name) for d in DEFINITIONS}
    try:
        single.start()
        workers = [pair.start("one")]
        outputs = [pair.topology.output_topic(d.name) for d in DEFINITIONS]
        wait_for(lambda: sum(end_offsets(kafka_bootstrap, outputs).values()) >= 100, 90, "worker one's first profiles",
                 workers)
        workers.append(pair.start("two"))  # scale out while the first one works; the rest comes after
        wait_for(lambda: stable_members(kafka_bootstrap, pair.app_id) == 2, 90, "both workers in the group", workers)
        for start in range(third, len(events), 100):
            producer.produce(events[start:start + 100])
            time.sleep(0.15)
        wait_caught_up(pair, kafka_bootstrap, timeout=150)
        wait_caught_up(single, kafka_bootstrap, timeout=150)
        handled = [_handled(worker, inputs) for worker in workers]
    finally:
        pair.stop_all()
        single.stop_all()

    (first, applied_first), (second, applied_second) = handled
    log.info(f"worker one applied {applied_first:.0f} forwards from {sorted(first)}; "
             f"worker two {applied_second:.0f} from {sorted(second)}")
    assert applied_first > 0 and applied_second > 0, f"both workers must build profiles: {handled}"
    assert first and second and first | second == {(t, str(p)) for t in inputs for p in range(3)}
    for definition in DEFINITIONS:
        decoder = ProfileDecoder(definition)
        shared = decoder.final_contents(output_messages(kafka_bootstrap, pair.topology.output_topic(definition.name)))
        alone = decoder.final_contents(output_messages(kafka_bootstrap, single.topology.output_topic(definition.name)))
        expected = expected_final_profiles(definition, events)
        assert not mismatches(expected, shared), f"{definition.name}: {mismatches(expected, shared)[:5]}"
        assert shared == alone
