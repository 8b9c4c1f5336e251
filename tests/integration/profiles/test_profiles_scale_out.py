"""Scale-out and take-over: a second worker process of the app (same app id, its own metrics port and
state directory) joins while the first one works and canonical input keeps coming; once both hold
partitions one of them (chosen by a seeded generator, ``GOVBUS_TEST_SEED`` replays it) is SIGKILLed
while input still flows, and the other takes everything over. Checked against the inputs and
against a single worker (``single``, its own app) over the same canonical topics, record by record.

What is deterministic between the two runs, and so compared with ``single`` one to one:

- the forwards (the repartition log as a set): a record's forwards depend only on its own earlier
  events, which are on one canonical partition in order;
- the final profiles;
- which events cause a profile message, for every event of an anchor record (its message depends
  only on that record's own history), and for every event of a side record that the build step
  applied while the profile key's anchor record was present in both runs, or absent in both: a side
  change's message depends only on the record's own history at that key (deterministic) and on
  whether the anchor was there.

What is not: the build step's input for one profile key is its repartition partition in offset
order, and the re-key step interleaves the canonical topics (anchor and side items are different
topics) as their fetches happen to arrive; so a side change can be applied before its anchor's
registration in one run and after it in the other (message only in the second), and the other
records a message shows depend on what came before it. For these, each run is checked against a
replay of the build step over that run's own repartition log (:func:`replay_build`): every message
exactly as a kill-free build of that log writes it, in the same order per key.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from profiles_support import (
    Feeder,
    OutputMessage,
    OutputWatch,
    ProfileDecoder,
    ProfileRun,
    caused_by,
    consuming,
    describe_mismatches,
    differences,
    event_id,
    member_partitions,
    mismatches,
    output_messages,
    profile_env,
    read_forwards,
    stable_members,
    stale_forwards,
    stop_workers,
    wait_caught_up,
    wait_for,
)

from schemas.catalogue.profiles import ProfileDefinition, load_profiles
from streams.profiles.state import Emit
from streams.profiles.topology import ensure_profile_topics
from testsupport.profile_inputs import (
    CanonicalEvent,
    CanonicalProducer,
    Replayed,
    VersionChecker,
    expected_final_profiles,
    expected_forwards,
    profile_scenario,
    replay_build,
)

DEFINITIONS = load_profiles()
log = logging.getLogger(__name__)
# see test_profiles_restart: the killed worker's open transaction and group membership end sooner
QUICK_RECOVERY = {"GOVBUS_STREAMS_TRANSACTION_TIMEOUT_MS": "5000", "GOVBUS_STREAMS_SESSION_TIMEOUT_MS": "6000"}
NONE = {"lost": 0, "duplicated": 0, "unexpected": 0}
BURST = 40  # input chunks (of 10 events) produced at once just before the kill
Message = tuple[str, str, dict[str, Any] | None]
"""(profile key, causing event id, decoded content or None for a tombstone)"""


def test_two_workers_share_the_partitions_and_one_takes_over_when_the_other_is_killed(
    kafka_bootstrap: str, registry_url: str, tmp_path: Path,
) -> None:
    seed = int(os.environ.get("GOVBUS_TEST_SEED") or random.SystemRandom().randrange(2**32))
    rng = random.Random(seed)
    victim_name, kill_after, burst = rng.choice(["one", "two"]), rng.randint(5, 25), rng.randint(1, 30)
    log.info(f"seed {seed} (GOVBUS_TEST_SEED replays it): SIGKILL worker {victim_name} {kill_after} input chunks "
             f"after both hold partitions, once {burst} more forwards were written")
    started = time.monotonic()
    prefix = f"govbus.t-{uuid.uuid4().hex[:10]}"
    events = profile_scenario(DEFINITIONS, anchors_per_profile=80, seed=43)
    pair = ProfileRun(profile_env(kafka_bootstrap, registry_url, prefix, **QUICK_RECOVERY), tmp_path / "pair")
    single = ProfileRun(profile_env(kafka_bootstrap, registry_url, prefix, **QUICK_RECOVERY,
                                    GOVBUS_PROFILES_OUTPUT_PREFIX=f"{prefix}.single"), tmp_path / "single")
    for run in (pair, single):
        ensure_profile_topics(run.settings)
    producer = CanonicalProducer(kafka_bootstrap, registry_url, prefix)
    third = len(events) // 3
    producer.produce(events[:third])
    feeder = Feeder(producer, events[third:], 10)
    sources = set(pair.source_topics())
    stale: dict[str, float | None] = {}
    profiles_written = OutputWatch(kafka_bootstrap, [pair.topology.output_topic(d.name) for d in DEFINITIONS])
    forwards_written = OutputWatch(kafka_bootstrap, [pair.topology.repartition_topic(d.name) for d in DEFINITIONS])
    try:
        single.start("single")
        one = pair.start("one")
        wait_for(lambda: consuming(one), 90, "worker one to consume", pair.live())
        two = pair.start("two")  # scale out while the first one works; input keeps coming

        def both_working() -> bool:
            feeder.feed(every=0.3)
            return stable_members(kafka_bootstrap, pair.app_id) == 2 and consuming(two) and consuming(one)

        joined = wait_for(both_working, 90, "both workers in the group, consuming", pair.live())
        shares = member_partitions(kafka_bootstrap, pair.app_id, sources)
        assert feeder.remaining > kill_after + BURST, "the input ran out before the kill"
        victim, survivor = (one, two) if victim_name == "one" else (two, one)
        fed, scraped = feeder.fed, 0.0
        while feeder.fed < fed + kill_after:
            assert one.alive() and two.alive(), f"a worker died on its own: see {one.log_path}, {two.log_path}"
            feeder.feed(every=0.1)
            if time.monotonic() - scraped > 0.5:  # not at the kill: it would come later
                stale[victim.name], scraped = stale_forwards(victim), time.monotonic()
            forwards_written.poll(0.02)
        # then a burst of input, and the kill once the workers wrote some of its forwards: in the middle of
        # the work, inside a transaction more often than not
        target, deadline = forwards_written.poll() + burst, time.monotonic() + 10
        for _ in range(BURST):
            feeder.feed(every=0)
        while forwards_written.poll() < target and time.monotonic() < deadline:
            pass
        pair.kill9(victim)
        at_kill = {"joined_after_s": round(joined, 1), "chunks_fed": feeder.fed, "chunks_left": feeder.remaining,
                   "at_s": round(time.monotonic() - started, 1)}
        log.info(f"SIGKILL {victim.name}: {at_kill}; partitions held before: {[len(s) for s in shares]}")
        assert feeder.remaining, "no input after the kill"
        while feeder.remaining:  # input still flows while the survivor takes over
            assert survivor.alive(), f"{survivor.name} died on its own: see {survivor.log_path}"
            feeder.feed(every=0.1)
            time.sleep(0.02)
        took_over = wait_caught_up(pair, kafka_bootstrap, timeout=120)
        wait_for(lambda: stable_members(kafka_bootstrap, pair.app_id) == 1, 30, "the survivor alone", pair.live())
        after = member_partitions(kafka_bootstrap, pair.app_id, sources)
        stale[survivor.name] = stale_forwards(survivor)
        wait_caught_up(single, kafka_bootstrap, timeout=60)
        stale["single"] = stale_forwards(single.workers[0])
        log.info(f"{survivor.name} caught up {took_over:.1f} s after the input ended; "
                 f"{time.monotonic() - started:.1f} s since the start")
        written = {"profile messages": profiles_written.drain(), "forwards": forwards_written.drain()}
    finally:
        profiles_written.close()
        forwards_written.close()
        stop_workers(pair, single)

    assert len(shares) == 2 and all(shares), f"both workers must hold partitions before the kill: {shares}"
    assert shares[0] | shares[1] == {(t, p) for t in sources for p in range(3)} and not shares[0] & shares[1]
    assert after == [shares[0] | shares[1]], f"the survivor must hold every partition: {after}"
    checked = {d.name: _check_profile(d, events, pair, single, kafka_bootstrap, registry_url) for d in DEFINITIONS}
    committed = {what: sum(c[what] for c in checked.values()) for what in written}
    # what the workers had written in transactions the broker then aborted (the killed one's open transaction)
    aborted = {what: written[what] - committed[what] for what in written}
    counts = {"seed": seed, "kill": at_kill, "stale": stale, "aborted": aborted, **checked}
    log.info(f"scale-out test: {counts}")
    assert all(value == 0 for value in stale.values()), f"stale forwards per worker: {stale}"


def _check_profile(definition: ProfileDefinition, events: list[CanonicalEvent], pair: ProfileRun, single: ProfileRun,
                   bootstrap: str, registry_url: str) -> dict[str, Any]:
    name = definition.name
    decoder = ProfileDecoder(definition)
    shared, alone = (output_messages(bootstrap, run.topology.output_topic(name)) for run in (pair, single))
    expected = expected_final_profiles(definition, events)
    for got in (shared, alone):
        final = decoder.final_contents(got)
        assert not mismatches(expected, final), f"{name}:\n{describe_mismatches(expected, final)}"

    # the forwards: the same set in both runs, each once (lost / duplicated / unexpected vs the inputs)
    wanted = [f for f in expected_forwards(DEFINITIONS, events).elements() if f[0] == name]
    runs = {"pair": pair, "single": single}
    forwards = {label: read_forwards(bootstrap, registry_url, run.topology.repartition_topic(name), name)
                for label, run in runs.items()}
    forwards_vs_inputs = {label: differences(wanted, [f.id for f in found]) for label, found in forwards.items()}
    assert all(d == NONE for d in forwards_vs_inputs.values()), f"{name} forwards: {forwards_vs_inputs}"

    # each run against the replay of the build step over its own repartition log: every message, in order
    replays = {label: replay_build(definition, found) for label, found in forwards.items()}
    versus_replay = {}
    for label, got in (("pair", shared), ("single", alone)):
        want = [(r.forward.key, r.forward.event_id, r.content) for r in replays[label] if r.emit is not Emit.NOTHING]
        actual: list[Message] = [(m[0].decode(), caused_by(m), decoder.content(m[1])) for m in got]
        versus_replay[label] = differences(_frozen(want), _frozen(actual))
        assert versus_replay[label] == NONE, f"{name} {label} vs the replay of its log: {versus_replay}"
        assert _by_key(actual) == _by_key(want), f"{name} {label}: a key's messages are out of order"
        assert all(r.applied for r in replays[label]), f"{name} {label}: a forward the state already held"
        ids = Counter(event_id(m) for m in got)
        assert got and all(n == 1 for n in ids.values()), f"{name} {label}: event ids twice: {ids.most_common(3)}"

    # record by record against the single worker, where the outcome does not depend on the interleaving
    deterministic, order_dependent = _deterministic(definition, replays["pair"], replays["single"])
    versus_single = differences(_messages_of(alone, deterministic), _messages_of(shared, deterministic))
    assert versus_single == NONE, f"{name} vs the single worker: {versus_single}"

    # (as in the restart test) every record shown is a version an input carried, under its own key
    checker = VersionChecker(definition, events)
    impossible = [p for key, value, _ in shared for p in checker.problems(key.decode(), decoder.content(value))]
    assert not impossible, f"{name}: {len(impossible)} impossible versions, e.g. {impossible[:3]}"
    counts = {"profile messages": len(shared), "single messages": len(alone), "forwards": len(forwards["pair"]),
              "forwards vs inputs": forwards_vs_inputs["pair"], "vs replay of its log": versus_replay["pair"],
              "vs single (deterministic)": versus_single, "deterministic forwards": len(deterministic),
              "order-dependent outcomes": order_dependent, "records checked": checker.records_checked}
    log.info(f"{name}: {counts}")
    return counts


def _deterministic(definition: ProfileDefinition, ours: list[Replayed],
                   theirs: list[Replayed]) -> tuple[set[tuple[str, str]], int]:
    """(profile key, event id) of the forwards whose outcome must be the same in both runs, and how
    many of the others did have different outcomes."""
    def by_id(replayed: list[Replayed]) -> dict[tuple[str, str], Replayed]:
        found = {(r.forward.key, r.forward.event_id): r for r in replayed}
        assert len(found) == len(replayed), "an event forwarded twice to one profile key"
        return found

    mine, other = by_id(ours), by_id(theirs)
    assert mine.keys() == other.keys()
    anchor = definition.anchor.side
    same = {i for i, r in mine.items() if r.forward.side == anchor or r.anchor_present == other[i].anchor_present}
    return same, sum(1 for i in mine.keys() - same if mine[i].emit != other[i].emit)


def _messages_of(messages: list[OutputMessage], ids: set[tuple[str, str]]) -> list[tuple[str, str, bool]]:
    """(key, causing event id, tombstone?) of the messages caused by the forwards ``ids``."""
    return [(m[0].decode(), caused_by(m), m[1] is None) for m in messages if (m[0].decode(), caused_by(m)) in ids]


def _frozen(messages: list[Message]) -> list[tuple[str, str, str]]:
    return [(key, cause, json.dumps(content, sort_keys=True)) for key, cause, content in messages]


def _by_key(messages: list[Message]) -> dict[str, list[Message]]:
    by_key: dict[str, list[Message]] = {}
    for message in messages:
        by_key.setdefault(message[0], []).append(message)
    return by_key

