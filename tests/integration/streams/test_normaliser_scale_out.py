"""Scale-out: two normaliser workers in one group (same app id, each with its own state directory and
metrics port) share the partitions while input keeps coming; one of them is SIGKILLed mid-run and
the other takes its partitions over. Record by record, nothing is lost, duplicated or unexpected.

The seed is logged (``GOVBUS_TEST_SEED`` replays one), with the kill point and the three numbers.
"""

from __future__ import annotations

import logging
import random
import time

import pytest
from normaliser_support import (
    Encoders,
    NormaliserRun,
    PacedProducer,
    check_every_record,
    dialect_traffic,
    end_offsets,
    interleave_duplicates,
    make_settings,
    member_partitions,
    metric_or_zero,
    output_topics,
    poison,
    source_topics,
    stable_members,
    wait_all_committed,
    wait_for,
)

from streams.dialects import ITEMS
from streams.normalising.settings import NormaliserSettings
from streams.normalising.topics import ensure_normaliser_topics

log = logging.getLogger(__name__)

PER_DIALECT = 150  # x 12 dialects (4 items)
PROCESSED = "govbus_normaliser_records_processed_total"


@pytest.fixture
def settings(kafka_bootstrap: str, registry_url: str) -> NormaliserSettings:
    return make_settings(kafka_bootstrap, registry_url, normaliser_partitions=2, normaliser_items=ITEMS,
                         streams_session_timeout_ms=6000)


def test_two_workers_share_the_partitions_and_one_takes_over_from_the_killed_one(
    settings: NormaliserSettings, run: NormaliserRun, seed: int,
) -> None:
    rng = random.Random(seed)
    ensure_normaliser_topics(settings)
    workers = [run.start("worker-a"), run.start("worker-b")]  # own state dirs and metrics ports
    encoders = Encoders(settings.registry.url, settings.topic_prefix)
    sent = dialect_traffic(encoders, settings.topic_prefix, PER_DIALECT, bad_share=0.15, seed=seed % 100_000)
    inputs = sent + poison(settings.topic_prefix, encoders, copies=2)
    rng.shuffle(inputs)
    order = interleave_duplicates(inputs, rng.sample(sent, len(sent) // 20), rng)
    log.info("input: %d messages (%d good)", len(order), sum(1 for s in sent if s.good))

    bootstrap, group = settings.kafka.bootstrap, settings.normaliser_app_id
    sources = set(source_topics(settings.topic_prefix, settings.normaliser_items))
    every_partition = {(topic, p) for topic in sources for p in range(settings.normaliser_partitions)}
    shares: dict[str, set[tuple[str, int]]] = {}

    def both_hold_partitions() -> bool:
        nonlocal shares
        if stable_members(bootstrap, group) != 2:
            return False
        shares = member_partitions(bootstrap, group, sources)
        return len(shares) == 2 and all(shares.values())

    waited = wait_for(both_hold_partitions, 60, "both workers holding input partitions", lambda: f"shares {shares}",
                      run)
    log.info("both workers hold partitions after %.1f s: %s", waited,
             {member: len(held) for member, held in shares.items()})
    held = list(shares.values())
    assert held[0] | held[1] == every_partition and not held[0] & held[1], shares

    # ~20 s of producing in small batches: the pair shares it, one of them is killed, the survivor takes over
    producer = PacedProducer(bootstrap, order, batch=20, pause=0.2)
    started = time.monotonic()
    producer.start()
    try:
        victim, survivor = rng.sample(workers, 2)
        target = rng.randint(len(order) // 4, len(order) * 3 // 5)
        victim_share = rng.randint(50, 300)
        wait_for(lambda: producer.produced >= target
                 and metric_or_zero(victim.metrics_port, PROCESSED) >= victim_share
                 and metric_or_zero(survivor.metrics_port, PROCESSED) >= 50, 60,
                 f"{target} messages produced, {victim_share} processed by {victim.name}, 50 by {survivor.name}",
                 lambda: f"{producer.produced} produced", run)
        processed = {w.name: metric_or_zero(w.metrics_port, PROCESSED) for w in workers}
        run.kill(victim)
        killed = time.monotonic()
        kill_point = (f"{victim.name} at {killed - started:.1f} s of producing: {producer.produced} of {len(order)} "
                      f"produced, processed so far {processed}, output end offsets "
                      f"{sum(end_offsets(bootstrap, output_topics(settings.topic_prefix)).values())} after the kill")
        log.info("kill point: %s", kill_point)
        producer.finish()
        wait_all_committed(settings, run, 90)
        log.info("all input committed %.1f s after the kill (%.1f s of producing)", time.monotonic() - killed,
                 producer.seconds)
    finally:
        producer.abandon()
    assert survivor.alive()
    remaining = member_partitions(bootstrap, group, sources)
    assert list(remaining.values()) == [every_partition], f"the survivor must hold every partition: {remaining}"
    assert metric_or_zero(survivor.metrics_port, "govbus_streams_transaction_commits_total") > 0

    canonical, dead = check_every_record(settings, order)
    log.info("seed %d: %s; %s", seed, canonical, dead)
    assert canonical.numbers == (0, 0, 0), f"seed {seed}, kill {kill_point}: {canonical.detail()}"
    assert dead.numbers == (0, 0, 0), f"seed {seed}, kill {kill_point}: {dead.detail()}"
