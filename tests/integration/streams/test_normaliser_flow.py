"""The normaliser end to end on the real broker and registry, as a subprocess stopped by PID.

Dialect records of every chosen dialect, canonical records, bad ones, poison bytes, deletes and
re-published duplicates go in; the canonical topics must hold exactly the expected canonical
records once each (field by field, with the right fixes header), the dead-letter topics exactly
the bad and poison ones with their original bytes and reasons; duplicates produce nothing, also
after a restart; the metrics scraped over HTTP agree with the counts.

The worker runs as under a supervisor: when its rebalance guards stop it (exit 70, "stopping the
worker without committing", streams/guards.py) :class:`NormaliserRun` restarts it and logs why.
The topics must then hold exactly the same; the metrics only count the last process's work, so
in a phase with such a restart they are checked for consistency instead of equality.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Message
from confluent_kafka.schema_registry import SchemaRegistryClient
from normaliser_support import (
    CLI_WORKER,
    Encoders,
    NormaliserRun,
    Sent,
    counters,
    delete_event,
    dialect_traffic,
    metric,
    metric_or_zero,
    metric_samples,
    metrics_up,
    produce,
    source_topics,
    uncommitted,
    wait_for,
)

from govbus.platform.processes import free_port
from govbus.serde import WireDecoder
from govbus.topic_names import canonical_topic, dead_letter_topic
from govbus.topic_reader import read_topic
from streams.dead_letters import DeadLetter
from streams.dialects import DIALECT_HEADER, FIXES_HEADER, ITEMS, fixes_from_header, get_dialect
from streams.normalising.settings import NormaliserSettings
from streams.normalising.topics import ensure_normaliser_topics

PER_DIALECT = 12


@pytest.fixture
def settings(kafka_bootstrap: str, registry_url: str) -> NormaliserSettings:
    suffix = uuid.uuid4().hex[:8]
    return NormaliserSettings(
        kafka_bootstrap=kafka_bootstrap, registry_url=registry_url, topic_prefix=f"govbus.test-{suffix}",
        normaliser_app_id=f"normaliser-{suffix}", normaliser_partitions=3, normaliser_metrics_port=free_port(),
        normaliser_lag_interval_seconds=1.0, normaliser_items=ITEMS,
    )


@pytest.fixture
def worker_env(settings: NormaliserSettings) -> dict[str, str]:
    return {
        "GOVBUS_KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "GOVBUS_REGISTRY_URL": settings.registry_url,
        "GOVBUS_TOPIC_PREFIX": settings.topic_prefix, "GOVBUS_NORMALISER_APP_ID": settings.normaliser_app_id,
        "GOVBUS_NORMALISER_PARTITIONS": str(settings.normaliser_partitions),
        "GOVBUS_NORMALISER_METRICS_PORT": str(settings.normaliser_metrics_port),
        "GOVBUS_NORMALISER_LAG_INTERVAL_SECONDS": "1", "GOVBUS_NORMALISER_ITEMS": ",".join(ITEMS),
    }


@pytest.fixture
def run(worker_env: dict[str, str], tmp_path: Path) -> Iterator[NormaliserRun]:
    started = NormaliserRun(worker_env, tmp_path)
    yield started
    started.stop()


def poison(settings: NormaliserSettings, encoders: Encoders) -> list[Sent]:
    prefix = settings.topic_prefix
    junk_schema = {"type": "record", "name": "Junk", "fields": [{"name": "x", "type": "string"}]}
    return [
        Sent(get_dialect("enterprise_registration", "zhejiang-aic-v2").topic(prefix), b"poison-1",
             b"this is not Avro", poison="wire_format"),
        Sent(get_dialect("identity_verification", "canonical").topic(prefix), b"poison-2",
             b"\x00\x00\x0f\x42\x3fno such schema id", poison="wire_format"),
        Sent(get_dialect("tax_payment_certificate", "jiangsu-etax-v2").topic(prefix), b"poison-3",
             encoders.encode_other(f"{prefix}.junk-value", junk_schema, {"x": "not an envelope"}), poison="envelope"),
    ]


def read_canonical(settings: NormaliserSettings) -> dict[str, list[tuple[Message, dict[str, Any]]]]:
    """Event id -> every canonical message carrying it (of every item)."""
    decoder = WireDecoder(SchemaRegistryClient({"url": settings.registry_url}))
    found: dict[str, list[tuple[Message, dict[str, Any]]]] = {}
    for item in ITEMS:
        for message in read_topic(settings.kafka_bootstrap, canonical_topic(item, settings.topic_prefix)):
            event = decoder.decode(message.value()).value
            found.setdefault(str(event["event_id"]), []).append((message, event))
    return found


def read_dead_letters(settings: NormaliserSettings) -> list[Message]:
    prefix = settings.topic_prefix
    return [m for item in ITEMS for m in read_topic(settings.kafka_bootstrap, dead_letter_topic(item, prefix))]


def headers_of(message: Message) -> dict[str, bytes]:
    raw = message.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return {name: value for name, value in pairs if isinstance(value, bytes)}


def check_canonical(message: Message, event: dict[str, Any], sent: Sent) -> None:
    """One canonical event against what its source event must become."""
    assert sent.event is not None and sent.sample is not None and sent.sample.expected is not None
    expected = sent.sample.expected
    record = event["record"]
    assert set(record) == set(expected)
    for name, value in expected.items():
        assert record[name] == value, (sent.sample.dialect, name, record[name], value)
    for name in ("data_item", "department", "source_system", "operation", "trace_id", "occurred_at", "published_at"):
        assert event[name] == sent.event[name], name
    assert event["record_key"] == sent.sample.key and message.key() == sent.sample.key.encode()
    headers = headers_of(message)
    assert headers[DIALECT_HEADER].decode() == sent.sample.dialect
    fixes = {(fix.field, fix.kind) for fix in fixes_from_header(headers[FIXES_HEADER])}
    assert fixes == sent.sample.expected_fixes, sent.sample.dialect


def check_dead_letter(message: Message, sent: Sent) -> None:
    letter = DeadLetter.from_headers(message.headers())
    assert message.value() == sent.value and message.key() == sent.key
    assert letter.source_topic == sent.topic and letter.source_offset >= 0 and letter.source_partition >= 0
    assert letter.reason
    if sent.poison:
        assert (letter.stage, letter.rule) == ("decode", sent.poison)
    else:
        assert sent.sample is not None and sent.sample.broken is not None
        assert (letter.stage, letter.field, letter.rule) == ("validate", *sent.sample.broken)
        assert headers_of(message)["govbus.dlq.event_id"].decode() == sent.event_id


def caught_up(run: NormaliserRun, settings: NormaliserSettings, restarts_before: int,
              done: Callable[[], bool]) -> Callable[[], bool]:
    """``done`` while no restart happened since ``restarts_before``; after one, every input committed."""
    def check() -> bool:
        run.supervise()
        if len(run.restarts) == restarts_before:
            return done()
        return metrics_up(settings.normaliser_metrics_port) and not uncommitted(
            settings.kafka_bootstrap, settings.normaliser_app_id, source_topics(settings.topic_prefix))

    return check


COUNTED = (*(f"govbus_normaliser_records_{kind}_total" for kind in ("processed", "canonical", "rejected",
                                                                     "deduplicated")),
           "govbus_normaliser_latency_seconds_count")


def consistent_counters(port: int) -> None:
    """What holds for any one (idle) worker's counters: every record it took has exactly one outcome."""
    def consistent() -> bool:
        processed, canonical, rejected, deduplicated, timed = (metric(port, name) for name in COUNTED)
        return processed == canonical + rejected + deduplicated == timed

    wait_for(consistent, 30, "processed = canonical + rejected + deduplicated = timed",
             lambda: counters(port, *COUNTED))


def test_dialects_canonical_bad_poison_and_duplicates(
    settings: NormaliserSettings, run: NormaliserRun, tmp_path: Path,
) -> None:
    ensure_normaliser_topics(settings)
    encoders = Encoders(settings.registry_url, settings.topic_prefix)
    sent = dialect_traffic(encoders, settings.topic_prefix, PER_DIALECT, bad_share=0.25, seed=41)
    guangdong = get_dialect("enterprise_registration", "guangdong-scjg-v1")
    some_uscc = next(s.sample.key for s in sent if s.sample and s.sample.dialect == "guangdong-scjg-v1")
    deletes = [delete_event(encoders, guangdong, settings.topic_prefix, " " + some_uscc.lower()),
               delete_event(encoders, guangdong, settings.topic_prefix, some_uscc[:17] + "?")]
    bad_bytes = poison(settings, encoders)
    duplicates = sent[::6]
    good = {s.event_id: s for s in sent if s.sample and s.sample.expected is not None}
    bad = [s for s in sent if s.sample and s.sample.broken] + bad_bytes
    assert len(good) > 80 and len(bad) > 20 and {s.sample.dialect for s in sent if s.sample} >= {"canonical"}

    port = settings.normaliser_metrics_port
    run.start("normaliser")
    total = len(sent) + len(deletes) + len(bad_bytes) + len(duplicates)
    assert produce(settings.kafka_bootstrap, [*sent, *deletes, *bad_bytes]) == total - len(duplicates)
    assert produce(settings.kafka_bootstrap, duplicates) == len(duplicates)
    wait_for(caught_up(run, settings, 0, lambda: metric_or_zero(port, "govbus_normaliser_records_processed_total")
                       >= total), 120, f"{total} records processed (log: {tmp_path / 'normaliser.log'})",
             lambda: f"restarts {run.restarts}")
    restarted = bool(run.restarts)

    canonical = read_canonical(settings)
    assert set(canonical) == set(good) | {deletes[0].event_id}
    assert all(len(messages) == 1 for messages in canonical.values()), "an event reached the canonical topic twice"
    for event_id, sent_one in good.items():
        check_canonical(*canonical[event_id][0], sent_one)
    deleted_message, deleted = canonical[deletes[0].event_id][0]
    assert deleted["operation"] == "DELETE" and deleted["record"] is None
    assert deleted["record_key"] == some_uscc and deleted_message.key() == some_uscc.encode()

    dead = read_dead_letters(settings)
    assert len(dead) == len(bad) + 1
    unmatched = list(bad)
    for message in dead:
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
    if not restarted:
        assert metric(port, "govbus_normaliser_records_processed_total") == total
        assert metric(port, "govbus_normaliser_records_canonical_total") == len(good) + 1
        assert metric(port, "govbus_normaliser_records_rejected_total") == len(bad) + 1
        assert metric(port, "govbus_normaliser_records_deduplicated_total") == len(duplicates)
        assert metric(port, "govbus_normaliser_records_rejected_total", stage="decode") == len(bad_bytes)
        assert fixed == kinds
        assert metric(port, "govbus_normaliser_records_changed_total") == changed
        assert metric(port, "govbus_normaliser_latency_seconds_count") == total
    else:  # the last worker counts only what it did after the last commit (the topics were checked above)
        consistent_counters(port)
        assert metric(port, "govbus_normaliser_records_canonical_total") <= len(good) + 1
        assert metric(port, "govbus_normaliser_records_rejected_total", stage="decode") <= len(bad_bytes)
        assert all(value <= kinds[kind] for kind, value in fixed.items())
        assert metric(port, "govbus_normaliser_records_changed_total") <= changed
    def lag_zero() -> bool:
        run.supervise()
        lags = metric_samples(port, "govbus_normaliser_consumer_lag") if metrics_up(port) else []
        return bool(lags) and all(value == 0 for _, value in lags)

    wait_for(lag_zero, 30, "consumer lag 0", lambda: f"restarts {run.restarts}")

    # a restarted worker (now as `govbus streams normalise`) reads its event-id tables back: re-sent events
    # still produce nothing (faust also re-delivers what the new worker read before its recovery finished)
    run.stop()
    run.start("restarted", CLI_WORKER)
    restarts_before = len(run.restarts)
    fresh = dialect_traffic(encoders, settings.topic_prefix, 1, bad_share=0.0, seed=97,
                            items=["identity_verification"])
    resent = [s for s in sent if s.event_id in good][:4]
    assert produce(settings.kafka_bootstrap, [*resent, *fresh]) == len(resent) + len(fresh)
    wait_for(caught_up(run, settings, restarts_before,
                       lambda: metric_or_zero(port, "govbus_normaliser_records_canonical_total") >= len(fresh)
                       and metric_or_zero(port, "govbus_normaliser_records_deduplicated_total") >= len(resent)), 120,
             f"the restarted worker (log: {tmp_path / 'restarted.log'})",
             lambda: f"restarts {run.restarts}; " + counters(port, *COUNTED[:4]))
    canonical = read_canonical(settings)
    assert set(canonical) == set(good) | {deletes[0].event_id} | {s.event_id for s in fresh}
    assert all(len(messages) == 1 for messages in canonical.values()), "a re-sent event was emitted again"
    if len(run.restarts) == restarts_before:
        assert metric(port, "govbus_normaliser_records_canonical_total") == len(fresh)
    else:  # the restarted worker was restarted again: its successor counts only what followed the last commit
        consistent_counters(port)
        assert metric(port, "govbus_normaliser_records_canonical_total") <= len(fresh)
        assert metric(port, "govbus_normaliser_records_rejected_total") == 0


def _source_of(bad: list[Sent], message: Message) -> Sent:
    """The bad message a dead letter came from (same source topic, key and bytes)."""
    topic = DeadLetter.from_headers(message.headers()).source_topic
    return next(s for s in bad if (s.topic, s.key, s.value) == (topic, message.key(), message.value()))
