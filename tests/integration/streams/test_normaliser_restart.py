"""Restart safety, record by record: the normaliser SIGKILLed at random points while it works.

A known input set (samples of every dialect of several items, ~15 % of them breaking a rule, re-sent
duplicates of some of them and a few poison messages) is produced while the worker works; the worker
is killed (SIGKILL of its process group: no shutdown, no flush, no commit) at random points and
restarted each time with the same app id and state directory, as a supervisor would. Once the group
has committed every input, each good input must be on a canonical topic exactly once (field by field
as expected) and each bad or poison input on a dead-letter topic exactly once (original bytes and
reason): nothing lost, nothing duplicated, nothing unexpected.

The seed is logged (``GOVBUS_TEST_SEED`` replays one), with the kill points and the three numbers.
"""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path

import pytest
from normaliser_support import (
    Encoders,
    NormaliserRun,
    PacedProducer,
    after_open_transactions,
    check_every_record,
    dialect_traffic,
    end_offsets,
    interleave_duplicates,
    make_settings,
    metric_or_zero,
    output_topics,
    poison,
    wait_all_committed,
    wait_for,
)

from streams.dialects import ITEMS
from streams.normalising.settings import NormaliserSettings
from streams.normalising.topics import ensure_normaliser_topics

log = logging.getLogger(__name__)

PER_DIALECT = 250  # x 12 dialects (4 items)
KILLS = 2
PROCESSED = "govbus_normaliser_records_processed_total"


@pytest.fixture
def settings(kafka_bootstrap: str, registry_url: str) -> NormaliserSettings:
    # the shortest session timeout allowed: a killed worker's partitions move after 6 s
    return make_settings(kafka_bootstrap, registry_url, normaliser_partitions=2, normaliser_items=ITEMS,
                         streams_session_timeout_ms=6000)


def test_sigkilled_worker_loses_and_duplicates_nothing(
    settings: NormaliserSettings, run: NormaliserRun, seed: int, tmp_path: Path,
) -> None:
    rng = random.Random(seed)
    ensure_normaliser_topics(settings)
    state_dir = tmp_path / "state"  # the same for every restart, as on a real machine
    worker = run.start("worker-0", state_dir=state_dir)  # it starts while the input is prepared
    encoders = Encoders(settings.registry.url, settings.topic_prefix)
    sent = dialect_traffic(encoders, settings.topic_prefix, PER_DIALECT, bad_share=0.15, seed=seed % 100_000)
    bad_bytes = poison(settings.topic_prefix, encoders, copies=2)
    inputs = sent + bad_bytes
    rng.shuffle(inputs)
    duplicates = rng.sample(sent, len(sent) // 20)
    order = interleave_duplicates(inputs, duplicates, rng)
    good = sum(1 for s in sent if s.good)
    log.info("input: %d messages: %d good, %d bad, %d poison, %d re-sent duplicates", len(order), good,
             len(sent) - good, len(bad_bytes), len(duplicates))

    # ~30 s of producing: the worker is killed and restarted while input keeps coming
    producer = PacedProducer(settings.kafka.bootstrap, order, batch=25, pause=0.25)
    outputs = output_topics(settings.topic_prefix, settings.normaliser_items)
    kill_points: list[str] = []
    started = time.monotonic()
    producer.start()
    try:
        for kill in range(KILLS):
            threshold = rng.randint(len(order) // 10, len(order) // 3)
            wait_for(lambda w=worker, t=threshold: metric_or_zero(w.metrics_port, PROCESSED) >= t, 90,
                     f"{worker.name} to process {threshold} records (log: {worker.log_path})", run=run, interval=0.1)
            processed = metric_or_zero(worker.metrics_port, PROCESSED)
            run.kill(worker)
            kill_points.append(
                f"{worker.name} at {time.monotonic() - started:.1f} s: processed {processed:g} "
                f"(threshold {threshold}), {producer.produced} of {len(order)} produced; on the outputs after the "
                f"kill: end offsets {sum(end_offsets(settings.kafka.bootstrap, outputs).values())}, "
                f"{after_open_transactions(settings.kafka.bootstrap, outputs)} in its open transaction")
            worker = run.start(f"worker-{kill + 1}", state_dir=state_dir)
        producer.finish()
        wait_all_committed(settings, run, 90)
    finally:
        producer.abandon()
    # the last worker's counters: every record it took has exactly one outcome
    last = {kind: metric_or_zero(worker.metrics_port, f"govbus_normaliser_records_{kind}_total")
            for kind in ("processed", "canonical", "rejected", "deduplicated")}
    assert last["processed"] == last["canonical"] + last["rejected"] + last["deduplicated"] > 0, last
    log.info("kill points:\n  %s", "\n  ".join(kill_points))
    log.info("all input committed %.1f s after the start (%.1f s of producing)", time.monotonic() - started,
             producer.seconds)

    canonical, dead = check_every_record(settings, order)
    log.info("seed %d: %s; %s", seed, canonical, dead)
    assert canonical.numbers == (0, 0, 0), f"seed {seed}, kills {kill_points}: {canonical.detail()}"
    assert dead.numbers == (0, 0, 0), f"seed {seed}, kills {kill_points}: {dead.detail()}"
    run.check_alive()

