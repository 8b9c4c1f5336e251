"""A worker that takes over from a killed one recovers its state only once the killed one's transaction has
ended (``streams/state_recovery.py``), and a restarted worker's identity fences its predecessor's transaction.

A worker writes its changelog records inside its commit, so one killed during a commit leaves its
transaction open on the changelog partitions until the broker aborts it. The test puts the broker in
exactly that state, which a SIGKILL hits only by chance: worker A handles a first batch and commits it,
is SIGKILLed, and a producer with A's transactional id (``worker_transactional_id``) opens a transaction
with a record in every changelog partition and leaves it open (60 s timeout). Worker B (another state
directory: another identity) is assigned the partitions after A's session times out: it must not
recover, nor process anything, while that transaction is open. Then what a restart of A does first: a
producer with A's transactional id initialises, which aborts the open transaction at once. B recovers
A's committed event ids, drops every re-sent event of the first batch as a duplicate and handles a
second batch, published while it waited and untouched until then. Record by record: 0 lost,
0 duplicated, 0 unexpected. (The state loss the wait prevents needs a third owner recovering while
the transaction is still open; this test shows the wait that prevents it.)
"""

from __future__ import annotations

import logging
import time

import pytest
from normaliser_support import (
    Encoders,
    NormaliserRun,
    after_open_transactions,
    check_every_record,
    dialect_traffic,
    make_settings,
    metric_or_zero,
    produce,
    source_topics,
    wait_all_committed,
    wait_for,
)

from govbus import clients
from streams.engine import changelog_topic
from streams.normalising.settings import NormaliserSettings
from streams.normalising.topics import ensure_normaliser_topics
from streams.state_recovery import worker_transactional_id
from testsupport.connections import kafka_at

log = logging.getLogger(__name__)

ITEM = "enterprise_registration"
PER_DIALECT = 60
PROCESSED = "govbus_normaliser_records_processed_total"
WAITING = "waiting for an open transaction on a changelog partition to end before recovering"
GAVE_UP = "a transaction is still open on a changelog partition; recovering up to it"


@pytest.fixture
def settings(kafka_bootstrap: str, registry_url: str) -> NormaliserSettings:
    return make_settings(kafka_bootstrap, registry_url, normaliser_partitions=1, normaliser_items=(ITEM,),
                         streams_session_timeout_ms=6000)


def test_a_new_owner_recovers_only_after_the_killed_owners_transaction_ends(
    settings: NormaliserSettings, run: NormaliserRun, seed: int,
) -> None:
    ensure_normaliser_topics(settings)
    bootstrap, group = settings.kafka.bootstrap, settings.normaliser_app_id
    sources = source_topics(settings.topic_prefix, settings.normaliser_items)
    changelogs = [changelog_topic(group, source) for source in sources]
    encoders = Encoders(settings.registry.url, settings.topic_prefix)
    first_batch, second_batch = (dialect_traffic(encoders, settings.topic_prefix, PER_DIALECT, bad_share=0.1,
                                                 seed=(seed + n) % 100_000, items=(ITEM,)) for n in (0, 1))

    first = run.start("worker-a")
    produce(bootstrap, first_batch)
    wait_all_committed(settings, run, 60)
    run.kill(first)
    a_transactions = worker_transactional_id(group, first.state_dir)
    killed_in_commit = clients.producer(kafka_at(bootstrap), {"transactional.id": a_transactions,
                                 "transaction.timeout.ms": 60_000})
    killed_in_commit.init_transactions(30)
    killed_in_commit.begin_transaction()
    for topic in changelogs:
        killed_in_commit.produce(topic, key=b"left-open", value=b"never committed", partition=0)
    assert killed_in_commit.flush(30) == 0
    open_records = after_open_transactions(bootstrap, changelogs)
    assert open_records == len(changelogs)

    second = run.start("worker-b")
    wait_for(lambda: WAITING in second.log_path.read_text(errors="replace"), 60,
             "worker B waiting for worker A's transaction before recovering", second.log_tail, run)
    produce(bootstrap, second_batch)  # input waiting for B: it must not handle any of it while it has not recovered
    time.sleep(3)
    assert metric_or_zero(second.metrics_port, PROCESSED) == 0, "B must not process before it has recovered"
    assert after_open_transactions(bootstrap, changelogs) == open_records

    restarted = clients.producer(kafka_at(bootstrap), {"transactional.id": a_transactions})
    restarted.init_transactions(30)  # what worker A's restart does first: its predecessor's transaction is aborted
    assert after_open_transactions(bootstrap, changelogs) == 0

    resent = [s for s in first_batch if s.good]
    produce(bootstrap, resent)
    wait_all_committed(settings, run, 60)
    assert GAVE_UP not in second.log_path.read_text(errors="replace"), "B recovered before the transaction ended"
    assert metric_or_zero(second.metrics_port, "govbus_normaliser_records_deduplicated_total") == len(resent)
    canonical, dead = check_every_record(settings, first_batch + resent + second_batch)
    log.info("seed %d: %s; %s", seed, canonical, dead)
    assert canonical.numbers == (0, 0, 0), f"seed {seed}: {canonical.detail()}"
    assert dead.numbers == (0, 0, 0), f"seed {seed}: {dead.detail()}"
