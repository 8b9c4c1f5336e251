"""Scale-out: a second worker process of the app (same app id, its own metrics port and data dir)
joins while the first one works; they share the partitions and leave the same final profiles as a
single worker over the same input."""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path

from profiles_support import (
    ProfileDecoder,
    ProfileRun,
    describe_mismatches,
    end_offsets,
    member_partitions,
    mismatches,
    output_messages,
    profile_env,
    stable_members,
    wait_caught_up,
    wait_for,
)

from govbus.testing.profile_inputs import CanonicalProducer, expected_final_profiles, profile_scenario
from schemas.catalogue.profiles import load_profiles
from streams.profiles.topology import ensure_profile_topics

DEFINITIONS = load_profiles()
log = logging.getLogger(__name__)


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
        pair.start("one")
        outputs = [pair.topology.output_topic(d.name) for d in DEFINITIONS]
        wait_for(lambda: sum(end_offsets(kafka_bootstrap, outputs).values()) >= 100, 90, "worker one's first profiles",
                 pair.live())
        pair.start("two")  # scale out while the first one works; the rest comes after
        wait_for(lambda: stable_members(kafka_bootstrap, pair.app_id) == 2, 90, "both workers in the group",
                 pair.live())
        for start in range(third, len(events), 100):
            producer.produce(events[start:start + 100])
            time.sleep(0.15)
        wait_caught_up(pair, kafka_bootstrap, timeout=150)
        wait_caught_up(single, kafka_bootstrap, timeout=150)
        wait_for(lambda: stable_members(kafka_bootstrap, pair.app_id) == 2, 60, "a stable pair", pair.live())
        shares = member_partitions(kafka_bootstrap, pair.app_id, inputs)
    finally:
        pair.stop_all()
        single.stop_all()

    log.info(f"input partitions per worker: {[sorted(s) for s in shares]}; "
             f"restarts after skipped offsets: {pair.restarts}")
    assert len(shares) == 2 and all(shares), f"both workers must hold input partitions: {shares}"
    assert shares[0] | shares[1] == {(t, p) for t in inputs for p in range(3)} and not shares[0] & shares[1]
    for definition in DEFINITIONS:
        decoder = ProfileDecoder(definition)
        shared = decoder.final_contents(output_messages(kafka_bootstrap, pair.topology.output_topic(definition.name)))
        alone = decoder.final_contents(output_messages(kafka_bootstrap, single.topology.output_topic(definition.name)))
        expected = expected_final_profiles(definition, events)
        assert not mismatches(expected, shared), f"{definition.name}:\n{describe_mismatches(expected, shared)}"
        assert shared == alone
