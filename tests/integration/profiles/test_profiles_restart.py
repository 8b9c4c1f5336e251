"""Restart safety, record by record: SIGKILL the worker twice at random points while canonical
events keep coming, start it again each time, and check against

(a) the profiles the inputs must end in, computed in plain Python;
(b) exactly-once: every profile event id is on the profile topics once, and the profile messages
    are exactly (lost / duplicated / unexpected: 0) those of a kill-free rebuild (another app that
    only runs the build step) reading the killed run's own repartition log, in the same order per
    key; the repartition log holds every forward the inputs call for, once (lost / duplicated /
    unexpected: 0); no build step ever skipped a stale (already applied) forward;
(c) every message shows, for each record in it, a version of that record some input event carried,
    under the record's own profile key, never older than one shown before.

The kill points come from a seeded generator (``GOVBUS_TEST_SEED`` replays one): one kill comes
when the worker has written a random number of further profile messages, the other after a random
number of further forwards (uncommitted ones counted, so a kill usually falls inside a
transaction: the test logs how many messages and forwards the broker aborted), while canonical
input keeps coming (and piles up while a worker starts, so each kill falls in a burst of work).
No kill-free whole pipeline runs beside it: the final profiles are computed, the forwards too.
"""

from __future__ import annotations

import logging
import os
import random
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from profiles_support import (
    Feeder,
    OutputMessage,
    OutputWatch,
    ProfileDecoder,
    ProfileRun,
    consuming,
    describe_mismatches,
    differences,
    event_id,
    mismatches,
    output_messages,
    profile_env,
    read_forwards,
    stale_forwards,
    stop_workers,
    wait_caught_up,
    wait_for,
)

from schemas.catalogue.profiles import load_profiles
from streams.profiles.topology import ensure_profile_topics
from testsupport.profile_inputs import (
    CanonicalProducer,
    VersionChecker,
    expected_final_profiles,
    expected_forwards,
    profile_scenario,
)

log = logging.getLogger(__name__)
DEFINITIONS = load_profiles()
# A killed worker's open transaction holds back read_committed readers of its output partitions
# until the broker aborts it (it looks every 10 s for transactions past this timeout), and its group
# membership until the session times out: both lowered for test time (a live worker's transactions
# last milliseconds; 6 s is the broker's smallest session timeout).
QUICK_RECOVERY = {"GOVBUS_STREAMS_TRANSACTION_TIMEOUT_MS": "5000", "GOVBUS_STREAMS_SESSION_TIMEOUT_MS": "6000"}
KILLS = 2  # one on each trigger below


def test_a_worker_killed_twice_mid_stream_writes_every_profile_exactly_once(
    kafka_bootstrap: str, registry_url: str, tmp_path: Path,
) -> None:
    seed = int(os.environ.get("GOVBUS_TEST_SEED") or random.SystemRandom().randrange(2**32))
    rng = random.Random(seed)
    # each kill after a random number of further messages written to the profile topics or to the repartition
    # topics (forwards: so that a kill also falls in the middle of the re-key step's work); both kinds occur
    triggers = rng.sample(["profile messages", "forwards"], KILLS)
    gaps = [rng.randint(100, 400) for _ in range(KILLS)]
    log.info(f"seed {seed} (GOVBUS_TEST_SEED replays it): kill after {list(zip(gaps, triggers, strict=True))}")
    started = time.monotonic()
    prefix = f"govbus.t-{uuid.uuid4().hex[:10]}"
    events = profile_scenario(DEFINITIONS, anchors_per_profile=110, seed=41)
    assert len(events) > 2500
    killed = ProfileRun(profile_env(kafka_bootstrap, registry_url, prefix, **QUICK_RECOVERY), tmp_path / "killed")
    rebuild = ProfileRun(profile_env(kafka_bootstrap, registry_url, prefix, GOVBUS_PROFILES_REKEY="false",
                                     GOVBUS_PROFILES_INPUT_APP_ID=killed.app_id,
                                     GOVBUS_PROFILES_OUTPUT_PREFIX=f"{prefix}.rebuild", **QUICK_RECOVERY),
                         tmp_path / "rebuild")
    for run in (killed, rebuild):
        ensure_profile_topics(run.settings)
    producer = CanonicalProducer(kafka_bootstrap, registry_url, prefix)
    upfront = len(events) // 4
    producer.produce(events[:upfront])
    # the rest comes at ~40 events/s all along (a backlog builds up while a worker starts, so each kill falls
    # in the middle of a burst of work, inside a transaction); the last chunks only after the last kill
    feeder = Feeder(producer, events[upfront:], 20)
    reserve = feeder.remaining // 10
    watch = OutputWatch(kafka_bootstrap, [killed.topology.output_topic(d.name) for d in DEFINITIONS])
    forwards_written = OutputWatch(kafka_bootstrap, [killed.topology.repartition_topic(d.name) for d in DEFINITIONS])
    kills: list[dict[str, object]] = []
    stale: dict[str, float | None] = {}
    try:
        worker, spawned = killed.start("worker-0"), time.monotonic()
        for number, (gap, trigger) in enumerate(zip(gaps, triggers, strict=True), start=1):
            counter = watch if trigger == "profile messages" else forwards_written
            at_start, target = counter.count, counter.count + gap
            deadline, scraped = time.monotonic() + 90, 0.0
            ready = None
            while counter.poll() < target:
                assert worker.alive(), f"{worker.name} died on its own: see {worker.log_path}"
                assert time.monotonic() < deadline, f"{worker.name} wrote {counter.count - at_start} of {gap} {trigger}"
                feeder.feed(every=0.5, keep=reserve)
                if ready is None and consuming(worker):
                    ready = time.monotonic() - spawned
                if ready is not None and time.monotonic() - scraped > 1:  # not at the kill: it would come later
                    stale[worker.name], scraped = stale_forwards(worker), time.monotonic()
            killed.kill9(worker)
            kills.append({"kill": number, "trigger": f"{gap} {trigger}", "profile_messages": watch.drain(),
                          "forwards": forwards_written.drain(), "chunks_fed": feeder.fed,
                          "chunks_left": feeder.remaining, "at_s": round(time.monotonic() - started, 1),
                          "worker_ready_after_s": round(ready or -1, 1)})
            log.info(f"SIGKILL {worker.name}: {kills[-1]}")
            worker, spawned = killed.start(f"worker-{number}"), time.monotonic()
            if number == 1:  # the reference follows the killed run's repartition log (started here: less contention)
                rebuild.start("rebuild")
        ready = wait_for(lambda: consuming(worker), 60, f"{worker.name} to consume", [worker])
        while feeder.remaining:
            assert worker.alive(), f"{worker.name} died on its own: see {worker.log_path}"
            feeder.feed(every=0.05)
            time.sleep(0.01)
        caught_up = wait_caught_up(killed, kafka_bootstrap, timeout=120)
        stale[worker.name] = stale_forwards(worker)
        wait_caught_up(rebuild, kafka_bootstrap, timeout=60)
        stale["rebuild"] = stale_forwards(rebuild.workers[0])
        log.info(f"{worker.name} consumed {ready:.1f} s after its start, caught up {caught_up:.1f} s after the "
                 f"input ended; {time.monotonic() - started:.1f} s since the start")
        written = {"profile messages": watch.drain(), "forwards": forwards_written.drain()}
        stopped = time.monotonic()
    finally:
        watch.close()
        forwards_written.close()
        stop_workers(killed, rebuild)

    with ThreadPoolExecutor(max_workers=6) as pool:  # reading is waiting, mostly
        outputs = {(run.app_id, d.name): pool.submit(output_messages, kafka_bootstrap,
                                                     run.topology.output_topic(d.name))
                   for run in (killed, rebuild) for d in DEFINITIONS}
        forwards_read = {d.name: pool.submit(read_forwards, kafka_bootstrap, registry_url,
                                             killed.topology.repartition_topic(d.name), d.name) for d in DEFINITIONS}
        got = {d.name: outputs[(killed.app_id, d.name)].result() for d in DEFINITIONS}
        rebuilt = {d.name: outputs[(rebuild.app_id, d.name)].result() for d in DEFINITIONS}
        forwarded = {name: future.result() for name, future in forwards_read.items()}
    counts: dict[str, Any] = {"seed": seed, "kills": kills, "stale": stale}
    committed = {"profile messages": sum(len(m) for m in got.values()),
                 "forwards": sum(len(f) for f in forwarded.values())}
    # what the killed workers had written in transactions the broker then aborted (rewritten after the restart)
    counts["aborted"] = {what: written[what] - committed[what] for what in written}
    for definition in DEFINITIONS:
        name = definition.name
        messages = got[name]
        # (a) the final profiles are those the inputs must end in, tombstones included
        expected = expected_final_profiles(definition, events)
        final = ProfileDecoder(definition).final_contents(messages)
        assert any(v is None for v in expected.values()) and any(v for v in expected.values())
        assert not mismatches(expected, final), f"{name}:\n{describe_mismatches(expected, final)}"

        # (b) exactly once: each event id once; the very messages of the kill-free rebuild of the same
        # repartition log (the build step's input order per key is that log's order: the same sequence)
        ids = Counter(event_id(m) for m in messages)
        assert rebuilt[name] and all(n == 1 for n in Counter(event_id(m) for m in rebuilt[name]).values())
        versus_rebuild = differences(rebuilt[name], messages)
        forwards = forwarded[name]
        forward_copies = Counter((f.key, f.side, f.event_id) for f in forwards)
        versus_inputs = differences(
            [f for f in expected_forwards(DEFINITIONS, events).elements() if f[0] == name], [f.id for f in forwards])

        # (c) every record shown is a version an input carried, under its own key, never going back
        checker, decoder = VersionChecker(definition, events), ProfileDecoder(definition)
        impossible = [p for key, value, _ in messages for p in checker.problems(key.decode(), decoder.content(value))]

        counts[name] = {"messages": len(messages), "event ids seen twice": sum(n - 1 for n in ids.values()),
                        "vs rebuild": versus_rebuild, "forwards": len(forwards),
                        "forwards seen twice": sum(n - 1 for n in forward_copies.values()),
                        "forwards vs inputs": versus_inputs, "records checked": checker.records_checked,
                        "impossible versions": len(impossible)}
        log.info(f"{name}: {counts[name]}")
        assert counts[name]["event ids seen twice"] == 0, [e for e, n in ids.items() if n > 1][:5]
        assert versus_rebuild == {"lost": 0, "duplicated": 0, "unexpected": 0}, f"{name}: {versus_rebuild}"
        assert _by_key(messages) == _by_key(rebuilt[name]), f"{name}: the order of some key's messages differs"
        assert counts[name]["forwards seen twice"] == 0, [f for f, n in forward_copies.items() if n > 1][:5]
        assert versus_inputs == {"lost": 0, "duplicated": 0, "unexpected": 0}, f"{name}: forwards {versus_inputs}"
        assert not impossible, f"{name}: {len(impossible)} impossible versions, e.g. {impossible[:3]}"
    log.info(f"restart test: {counts}; stopped, read and checked in {time.monotonic() - stopped:.1f} s")
    assert len(kills) == KILLS
    # with exactly-once a restarted worker resumes with the state committed with its offsets: it never
    # reads a forward its state already applied (scraped just before each kill and at the end)
    assert all(value == 0 for value in stale.values()), f"stale forwards per worker: {stale}"


def _by_key(messages: list[OutputMessage]) -> dict[bytes, list[OutputMessage]]:
    by_key: dict[bytes, list[OutputMessage]] = {}
    for message in messages:
        by_key.setdefault(message[0], []).append(message)
    return by_key
