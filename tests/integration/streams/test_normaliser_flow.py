"""The normaliser end to end on the real broker and registry, as a subprocess stopped by PID.

Dialect records of every chosen dialect, canonical records, bad ones, poison bytes, deletes and
re-published duplicates go in; the canonical topics must hold exactly the expected canonical
records once each (field by field, with the right fixes header), the dead-letter topics exactly
the bad and poison ones with their original bytes and reasons; duplicates produce nothing, also
after a restart (a new worker, as ``govbus streams normalise``, with a fresh state directory: it
reads the event ids back from the changelog); the metrics scraped over HTTP equal the counts.
"""

from __future__ import annotations

import logging
from collections import Counter

import pytest
from confluent_kafka import Message
from normaliser_support import (
    CLI_WORKER,
    Encoders,
    NormaliserRun,
    Sent,
    check_canonical,
    check_dead_letter,
    counters,
    delete_event,
    dialect_traffic,
    forged_event,
    make_settings,
    metric,
    metric_or_zero,
    metric_samples,
    poison,
    produce,
    read_canonical,
    read_dead_letters,
    wait_all_committed,
    wait_for,
)

from govbus.platform.processes import free_port
from streams.dead_letters import DeadLetter
from streams.dialects import get_dialect
from streams.normalising.settings import NormaliserSettings
from streams.normalising.topics import ensure_normaliser_topics
from testsupport.cloud_events import check_change_event

log = logging.getLogger(__name__)

PER_DIALECT = 12

COUNTED = (*(f"govbus_normaliser_records_{kind}_total" for kind in ("processed", "canonical", "rejected",
                                                                     "deduplicated")),
           "govbus_normaliser_latency_seconds_count", "govbus_streams_transaction_commits_total")


@pytest.fixture
def settings(kafka_bootstrap: str, registry_url: str) -> NormaliserSettings:
    return make_settings(kafka_bootstrap, registry_url, normaliser_metrics_port=free_port())


def test_dialects_canonical_bad_poison_and_duplicates(
    settings: NormaliserSettings, run: NormaliserRun,
) -> None:
    ensure_normaliser_topics(settings)
    encoders = Encoders(settings.registry.url, settings.topic_prefix)
    sent = dialect_traffic(encoders, settings.topic_prefix, PER_DIALECT, bad_share=0.25, seed=41)
    guangdong = get_dialect("enterprise_registration", "guangdong-scjg-v1")
    some_uscc = next(s.sample.key for s in sent if s.sample and s.sample.dialect == "guangdong-scjg-v1")
    deletes = [delete_event(encoders, guangdong, settings.topic_prefix, " " + some_uscc.lower()),
               delete_event(encoders, guangdong, settings.topic_prefix, some_uscc[:17] + "?")]
    forged = forged_event(encoders, guangdong, settings.topic_prefix, some_uscc, department="taxation")
    bad_bytes = poison(settings.topic_prefix, encoders)
    duplicates = sent[::6]
    good = {s.event_id: s for s in sent if s.good}
    bad = [s for s in sent if s.sample and s.sample.broken] + bad_bytes
    assert len(good) > 80 and len(bad) > 20 and {s.sample.dialect for s in sent if s.sample} >= {"canonical"}

    worker = run.start("normaliser", metrics_port=settings.normaliser_metrics_port)
    port = worker.metrics_port
    total = len(sent) + len(deletes) + len(bad_bytes) + len(duplicates) + 1
    assert produce(settings.kafka.bootstrap, [*sent, *deletes, *bad_bytes, forged]) == total - len(duplicates)
    assert produce(settings.kafka.bootstrap, duplicates) == len(duplicates)
    waited = wait_for(lambda: metric_or_zero(port, "govbus_normaliser_records_processed_total") >= total, 120,
                      f"{total} records processed (log: {worker.log_path})", lambda: counters(port, *COUNTED), run)
    wait_all_committed(settings, run, 60)
    log.info("%d records processed %.1f s after the worker was started", total, waited)

    canonical = read_canonical(settings)
    assert set(canonical) == set(good) | {deletes[0].event_id}
    assert all(len(messages) == 1 for messages in canonical.values()), "an event reached the canonical topic twice"
    for event_id, sent_one in good.items():
        check_canonical(*canonical[event_id][0], sent_one, settings.registry.url)
    deleted_message, deleted = canonical[deletes[0].event_id][0]
    assert deleted["operation"] == "DELETE" and deleted["record"] is None
    assert deleted["record_key"] == some_uscc and deleted_message.key() == some_uscc.encode()
    check_change_event(deleted_message, deleted, settings.registry.url)  # its subject: the canonical key

    dead = read_dead_letters(settings)
    assert len(dead) == len(bad) + 2
    unmatched = list(bad)
    for message in dead:
        if message.key() == forged.key:  # a department publishing as another one
            letter = DeadLetter.from_headers(message.headers())
            assert (letter.field, letter.rule) == ("department", "envelope.department")
            assert message.value() == forged.value
            continue
        if message.key() == deletes[1].key:
            letter = DeadLetter.from_headers(message.headers())
            assert (letter.field, letter.rule) == ("uscc", "uscc.format") and message.value() == deletes[1].value
            continue
        source = _source_of(unmatched, message)
        unmatched.remove(source)
        check_dead_letter(message, source)
    assert not unmatched

    kinds = Counter((s.sample.item, kind.value) for s in good.values() if s.sample
                    for kind in {k for _, k in s.sample.expected_fixes})
    fixed = {(labels["item"], labels["kind"]): value
             for labels, value in metric_samples(port, "govbus_normaliser_records_fixed_total")}
    changed = sum(1 for s in good.values() if s.sample and s.sample.expected_fixes)
    assert metric(port, "govbus_normaliser_records_processed_total") == total
    assert metric(port, "govbus_normaliser_records_canonical_total") == len(good) + 1
    assert metric(port, "govbus_normaliser_records_rejected_total") == len(bad) + 2
    assert metric(port, "govbus_normaliser_records_deduplicated_total") == len(duplicates)
    assert metric(port, "govbus_normaliser_records_rejected_total", stage="decode") == len(bad_bytes)
    assert fixed == kinds
    assert metric(port, "govbus_normaliser_records_changed_total") == changed
    assert metric(port, "govbus_normaliser_latency_seconds_count") == total
    assert metric(port, "govbus_streams_transaction_commits_total", processor="normaliser") > 0
    aborts = metric(port, "govbus_streams_transaction_aborts_total", processor="normaliser")
    assert aborts == 0, "a clean run aborts no transaction with messages in it"

    lag = "govbus_streams_consumer_lag_records"

    def lag_zero() -> bool:
        lags = metric_samples(port, lag)
        return bool(lags) and all(value == 0 for _, value in lags)

    wait_for(lag_zero, 30, "consumer lag 0", lambda: str(metric_samples(port, lag)), run)
    lags = metric_samples(port, lag)
    assert {labels["processor"] for labels, _ in lags} == {"normaliser"}
    assert {labels["topic"] for labels, _ in lags} <= {s.topic for s in sent}  # input partitions only

    # a restarted worker (now as `govbus streams normalise`, with a fresh state directory) reads the event ids
    # back from the changelog: re-sent events still produce nothing
    run.stop(worker)
    restarted = run.start("restarted", CLI_WORKER)
    port = restarted.metrics_port
    fresh = dialect_traffic(encoders, settings.topic_prefix, 1, bad_share=0.0, seed=97,
                            items=["identity_verification"])
    resent = [s for s in sent if s.event_id in good][:4]
    assert produce(settings.kafka.bootstrap, [*resent, *fresh]) == len(resent) + len(fresh)
    waited = wait_for(lambda: metric_or_zero(port, "govbus_normaliser_records_processed_total")
                      >= len(resent) + len(fresh), 120, f"the restarted worker (log: {restarted.log_path})",
                      lambda: counters(port, *COUNTED), run)
    wait_all_committed(settings, run, 60)
    log.info("the restarted worker processed %d records %.1f s after it was started", len(resent) + len(fresh),
             waited)
    canonical = read_canonical(settings)
    assert set(canonical) == set(good) | {deletes[0].event_id} | {s.event_id for s in fresh}
    assert all(len(messages) == 1 for messages in canonical.values()), "a re-sent event was emitted again"
    assert metric(port, "govbus_normaliser_records_processed_total") == len(resent) + len(fresh)
    assert metric(port, "govbus_normaliser_records_canonical_total") == len(fresh)
    assert metric(port, "govbus_normaliser_records_deduplicated_total") == len(resent)
    assert metric(port, "govbus_normaliser_records_rejected_total") == 0
    assert metric(port, "govbus_streams_transaction_commits_total", processor="normaliser") > 0


def _source_of(bad: list[Sent], message: Message) -> Sent:
    """The bad message a dead letter came from (same source topic, key and bytes)."""
    topic = DeadLetter.from_headers(message.headers()).source_topic
    return next(s for s in bad if (s.topic, s.key, s.value) == (topic, message.key(), message.value()))
