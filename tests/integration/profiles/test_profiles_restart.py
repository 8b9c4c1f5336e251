"""Restart safety, for real: SIGKILL the worker while it works through a few thousand canonical
events, start it again, and compare with (a) the profiles the inputs must end in, computed in
plain Python, (b) a second app rebuilding profiles from the killed run's own input log without
a kill (the same inputs in the same order: every profile message must be the same), and (c) a
whole second pipeline over the same canonical topics without a kill (final profiles equal)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
from profiles_support import (
    OutputMessage,
    ProfileDecoder,
    ProfileRun,
    describe_mismatches,
    duplicates_differing,
    end_offsets,
    event_id,
    mismatches,
    output_messages,
    profile_env,
    wait_caught_up,
    wait_for,
)
from prometheus_client.parser import text_string_to_metric_families

from govbus.testing.profile_inputs import CanonicalProducer, expected_final_profiles, profile_scenario
from schemas.catalogue.profiles import load_profiles
from streams.profiles.topology import ensure_profile_topics

log = logging.getLogger(__name__)
DEFINITIONS = load_profiles()


def _metric(port: int, name: str, **labels: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def _outputs(bootstrap: str, run: ProfileRun) -> dict[str, list[OutputMessage]]:
    return {d.name: output_messages(bootstrap, run.topology.output_topic(d.name)) for d in DEFINITIONS}


def test_a_worker_killed_mid_stream_ends_with_the_same_profiles_and_events(
    kafka_bootstrap: str, registry_url: str, tmp_path: Path, unique_name: Callable[[str], str],
) -> None:
    prefix = f"govbus.t-{uuid.uuid4().hex[:10]}"
    events = profile_scenario(DEFINITIONS, anchors_per_profile=110, seed=41)
    assert len(events) > 2500
    killed = ProfileRun(profile_env(kafka_bootstrap, registry_url, prefix), tmp_path / "killed")
    ensure_profile_topics(killed.settings)
    CanonicalProducer(kafka_bootstrap, registry_url, prefix).produce(events)
    outputs = [killed.topology.output_topic(d.name) for d in DEFINITIONS]

    def written() -> int:
        return sum(end_offsets(kafka_bootstrap, outputs).values())

    try:
        first = killed.start("first")
        wait_for(lambda: written() >= 300, 90, "the first profiles", [first])
        killed.kill9(first)
        at_kill = written()
        second = killed.start("second")
        seconds = wait_caught_up(killed, kafka_bootstrap, timeout=150)
        # For the log only: the offset guard may have replaced `second` by a restarted worker on another port.
        current = killed.workers[-1] if killed.workers else second
        try:
            stale = _metric(current.metrics_port, "govbus_profile_inputs_total", outcome="stale")  # type: ignore[attr-defined]
        except httpx.HTTPError:
            stale = float("nan")
        log.info(f"killed with {at_kill} profile messages written; the restarted worker caught up in "
                 f"{seconds:.1f} s and skipped {stale:.0f} forwards its recovered state already held "
                 f"(restarts by the supervisor: {killed.restarts})")
    finally:
        killed.stop_all()
    got = _outputs(kafka_bootstrap, killed)
    total = sum(len(m) for m in got.values())
    distinct = sum(len({event_id(m) for m in ms}) for ms in got.values())
    assert at_kill < distinct, f"the kill came after the last profile ({at_kill} of {distinct}): not mid-stream"
    log.info(f"{total} profile messages, {distinct} distinct events, {total - distinct} identical re-emits; "
             f"restarts after skipped offsets: {killed.restarts}")

    # (a) the final profiles are those the inputs must end in, tombstones included
    for definition in DEFINITIONS:
        expected = expected_final_profiles(definition, events)
        final = ProfileDecoder(definition).final_contents(got[definition.name])
        assert any(v is None for v in expected.values()) and any(v for v in expected.values())
        assert not mismatches(expected, final), f"{definition.name}:\n{describe_mismatches(expected, final)}"
        # a duplicate is only an identical re-emit with the same event id
        assert not duplicates_differing(got[definition.name])

    # (b) rebuilding from the killed run's input log without a kill gives the very same messages,
    # (c) a whole pipeline without a kill over the same canonical topics ends in the same profiles
    rebuild = ProfileRun(profile_env(kafka_bootstrap, registry_url, prefix, GOVBUS_PROFILES_REKEY="false",
                                     GOVBUS_PROFILES_INPUT_APP_ID=killed.app_id,
                                     GOVBUS_PROFILES_OUTPUT_PREFIX=f"{prefix}.rebuild"), tmp_path / "rebuild")
    whole = ProfileRun(profile_env(kafka_bootstrap, registry_url, prefix,
                                   GOVBUS_PROFILES_OUTPUT_PREFIX=f"{prefix}.whole"), tmp_path / "whole")
    try:
        for run in (rebuild, whole):
            ensure_profile_topics(run.settings)
            run.start()
        for run in (rebuild, whole):
            wait_caught_up(run, kafka_bootstrap, timeout=150)
    finally:
        rebuild.stop_all()
        whole.stop_all()
    rebuilt, reference = _outputs(kafka_bootstrap, rebuild), _outputs(kafka_bootstrap, whole)
    for definition in DEFINITIONS:
        name = definition.name
        assert set(rebuilt[name]) == set(got[name]), (
            f"{name}: {len(set(got[name]) - set(rebuilt[name]))} messages only after the kill, "
            f"{len(set(rebuilt[name]) - set(got[name]))} only without it")
        decoder = ProfileDecoder(definition)
        assert decoder.final_contents(reference[name]) == decoder.final_contents(got[name])
