"""The outbox connector end to end: real PostgreSQL, real broker, real registry, the real Publisher."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from outbox_support import (
    TopicEvent,
    WrittenRow,
    insert_delete,
    insert_upsert,
    outbox_rows,
    records,
    running,
    stored_position,
    wait_for,
)
from prometheus_client import CollectorRegistry

from connectors.outbox.connector import OutboxConnector
from connectors.outbox.metrics import OutboxMetrics
from connectors.outbox.settings import OutboxSettings
from govbus.identifiers import USCC_ALPHABET


def _caught_up(dsn: str, settings: OutboxSettings) -> Callable[[], bool]:
    def check() -> bool:
        rows = outbox_rows(dsn)
        return bool(rows) and stored_position(dsn, settings.outbox_name) == rows[-1].position

    return check


def test_rows_of_concurrent_transactions_are_published_in_commit_consistent_order(
        outbox_dsn: str, outbox_settings: OutboxSettings, department_topic_of: Callable[..., str],
        topic_events: Callable[[str], list[TopicEvent]]) -> None:
    topic = department_topic_of("enterprise_registration", partitions=1)  # one partition: one total order
    pool = iter(records(80, seed=11))
    connector = OutboxConnector(outbox_settings)
    with running(connector), psycopg.connect(outbox_dsn) as t1, psycopg.connect(outbox_dsn) as t2:
        first = [insert_upsert(t1, next(pool)) for _ in range(3)]
        t1.commit()
        wait_for(lambda: len(topic_events(topic)) == 3, 30, "the first transaction's rows")

        # two concurrent transactions: T1 inserts first (lower id), T2 commits first
        low = insert_upsert(t1, next(pool))
        high = [insert_upsert(t2, next(pool)) for _ in range(2)]
        assert low.id < high[0].id
        t2.commit()
        time.sleep(1.0)  # twenty poll intervals: T2's rows must still wait for T1
        assert [e.event_id for e in topic_events(topic)] == [r.event_id for r in first]
        low_second = insert_upsert(t1, next(pool))
        t1.commit()

        later: list[WrittenRow] = []
        for _ in range(10):  # sequential transactions, one with a delete
            later += [insert_upsert(t1, next(pool)) for _ in range(6)]
            t1.commit()
        later.append(insert_delete(t1, first[0].record_key or ""))
        t1.commit()
        wait_for(_caught_up(outbox_dsn, outbox_settings), 60, "the connector to store the last row's position")

    events = topic_events(topic)
    expected = outbox_rows(outbox_dsn)
    assert [e.event_id for e in events] == [r.event_id for r in expected], "published order is not (txid, id)"
    assert len(expected) == 3 + 1 + 2 + 1 + 60 + 1
    published = [e.event_id for e in events]
    # T1's rows (lower txid) come before T2's though T2 committed first; T1's own rows stay together
    assert published.index(low.event_id) + 1 == published.index(low_second.event_id)
    assert published.index(low_second.event_id) < published.index(high[0].event_id)
    assert published[-1] == later[-1].event_id
    assert events[-1].value["operation"] == "DELETE" and events[-1].value["record"] is None
    assert {e.value["source_system"] for e in events} == {"registration-db"}


def _wrong_check(uscc: str) -> str:
    return uscc[:17] + USCC_ALPHABET[(USCC_ALPHABET.index(uscc[17]) + 7) % len(USCC_ALPHABET)]


def test_invalid_rows_are_recorded_as_rejected_and_do_not_stop_the_rows_after_them(
        outbox_dsn: str, outbox_settings: OutboxSettings, department_topic_of: Callable[..., str],
        topic_events: Callable[[str], list[TopicEvent]]) -> None:
    topic = department_topic_of("enterprise_registration", partitions=1)
    good = records(5, seed=21)
    broken = {**records(1, seed=22)[0]}
    broken["uscc"] = _wrong_check(broken["uscc"])
    registry = CollectorRegistry()
    metrics = OutboxMetrics(registry, outbox_settings.outbox_name)
    with psycopg.connect(outbox_dsn) as conn:
        kept = [insert_upsert(conn, good[0])]
        bad = insert_upsert(conn, broken)
        kept.append(insert_upsert(conn, good[1]))
        unknown = insert_upsert(conn, good[2], item="no_such_item")
        kept.append(insert_upsert(conn, good[3]))
        mismatch = insert_upsert(conn, good[4], record_key="91110105MA0000000X")
        not_owned = insert_delete(conn, "110101199003070011", item="identity_verification")  # public security's
        kept.append(insert_delete(conn, good[0]["uscc"]))
        conn.commit()
    connector = OutboxConnector(outbox_settings, metrics)
    with running(connector):
        wait_for(_caught_up(outbox_dsn, outbox_settings), 60, "the connector to pass the rejected rows")

    assert [e.event_id for e in topic_events(topic)] == [r.event_id for r in kept]
    with psycopg.connect(outbox_dsn, autocommit=True) as conn:
        rejected = conn.execute("SELECT outbox_id, event_id::text, data_item, field, rule, reason "
                                "FROM govbus_outbox_rejected ORDER BY outbox_id").fetchall()
    assert [(r[0], r[1], r[3], r[4]) for r in rejected] == [
        (bad.id, bad.event_id, "uscc", "uscc.check_character"),
        (unknown.id, unknown.event_id, "data_item", "data_item.unknown"),
        (mismatch.id, mismatch.event_id, "record_key", "record_key.mismatch"),
        (not_owned.id, not_owned.event_id, "data_item", "data_item.not_owned"),
    ]
    assert broken["uscc"] in rejected[0][5] and "no_such_item" in rejected[1][5]
    labels = {"connector": outbox_settings.outbox_name}
    assert registry.get_sample_value("govbus_outbox_rows_read_total", labels) == 8
    assert registry.get_sample_value("govbus_outbox_rows_published_total", labels) == 4
    for rule in ("uscc.check_character", "data_item.unknown", "record_key.mismatch", "data_item.not_owned"):
        assert registry.get_sample_value("govbus_outbox_rows_rejected_total", {**labels, "rule": rule}) == 1
    assert registry.get_sample_value("govbus_outbox_position_lag_rows", labels) == 0


def test_a_row_sent_again_carries_the_event_id_of_its_first_copy(
        outbox_dsn: str, outbox_settings: OutboxSettings, department_topic_of: Callable[..., str],
        topic_events: Callable[[str], list[TopicEvent]]) -> None:
    """A crash after the flush but before the position is stored re-sends the batch: same event ids."""
    topic = department_topic_of("enterprise_registration", partitions=2)
    with psycopg.connect(outbox_dsn) as conn:
        for record in records(20, seed=31):
            insert_upsert(conn, record)
        conn.commit()
    for _ in range(2):
        with running(OutboxConnector(outbox_settings)):
            wait_for(_caught_up(outbox_dsn, outbox_settings), 60, "the connector to catch up")
        with psycopg.connect(outbox_dsn, autocommit=True) as conn:  # what a crash before the store leaves
            conn.execute("UPDATE govbus_outbox_position SET last_txid = '0', last_id = 0")

    events = topic_events(topic)
    rows = outbox_rows(outbox_dsn)
    assert len(events) == 2 * len(rows)
    by_key: dict[str, set[str]] = {}
    for event in events:
        by_key.setdefault(event.record_key, set()).add(event.event_id)
    assert by_key == {r.record_key: {r.event_id} for r in rows}
    first_copy = {e.event_id: e.value["trace_id"] for e in reversed(events)}
    assert all(e.value["trace_id"] == first_copy[e.event_id] for e in events)  # the trace id is stable too


def test_status_reports_position_waiting_rows_and_rejections(
        outbox_dsn: str, outbox_settings: OutboxSettings, department_topic_of: Callable[..., str]) -> None:
    department_topic_of("enterprise_registration", partitions=1)
    good = records(4, seed=41)
    bad = {**good[3], "uscc": _wrong_check(good[3]["uscc"])}
    with psycopg.connect(outbox_dsn) as conn:
        insert_upsert(conn, good[0])
        insert_upsert(conn, bad)
        conn.commit()
    with running(OutboxConnector(outbox_settings)):
        wait_for(_caught_up(outbox_dsn, outbox_settings), 60, "the connector to catch up")
    with psycopg.connect(outbox_dsn) as conn, psycopg.connect(outbox_dsn) as open_tx:
        open_tx.execute("SELECT pg_current_xact_id()")  # an older open transaction holds the next rows back
        insert_upsert(conn, good[1])
        insert_upsert(conn, good[2])
        conn.commit()
        status = _cli("outbox", "status", "--dsn", outbox_dsn, "--name", outbox_settings.outbox_name, "--json")
        text = _cli("outbox", "status", "--dsn", outbox_dsn, "--name", outbox_settings.outbox_name)
        open_tx.rollback()
    found = json.loads(status.stdout)
    last = outbox_rows(outbox_dsn)[1]
    assert found["position"]["txid"] == str(last.txid) and found["position"]["id"] == last.id
    assert (found["rows_waiting"], found["rows_ready"], found["rows_held_back"]) == (2, 0, 2)
    assert found["rejected"] == 1 and found["latest_rejected"][0]["rule"] == "uscc.check_character"
    assert "2 rows waiting (0 ready, 2 held back by an older open transaction)" in text.stderr
    assert "1 row rejected" in text.stderr and "uscc.check_character" in text.stderr


def test_status_and_run_explain_a_database_without_the_outbox_tables(postgres_dsn: str) -> None:
    missing = _cli("outbox", "status", "--dsn", postgres_dsn, check=False)
    assert missing.returncode == 1
    assert "govbus outbox migrate" in missing.stderr
    migrated = _cli("outbox", "migrate", "--dsn", postgres_dsn)
    assert "applied" in migrated.stderr and "001_outbox" in migrated.stderr
    again = _cli("outbox", "migrate", "--dsn", postgres_dsn)
    assert "already applied: 001_outbox" in again.stderr


def _cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "govbus.cli", *args], capture_output=True, text=True,
                          timeout=60, check=False)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def test_the_readme_sql_example_runs_and_is_published(
        outbox_dsn: str, outbox_settings: OutboxSettings, department_topic_of: Callable[..., str],
        topic_events: Callable[[str], list[TopicEvent]], repo_root: Path) -> None:
    readme = (repo_root / "connectors" / "outbox" / "README.md").read_text(encoding="utf-8")
    example = readme.split("```sql\n", 1)[1].split("```", 1)[0]
    topic = department_topic_of("enterprise_registration", partitions=1)
    with psycopg.connect(outbox_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE enterprise (uscc text PRIMARY KEY, status text)")
        conn.execute("INSERT INTO enterprise VALUES ('91310115EARAG6P2UG', 'ESTABLISHED')")
        conn.execute(example.encode())
    with running(OutboxConnector(outbox_settings)):
        wait_for(_caught_up(outbox_dsn, outbox_settings), 60, "the connector to publish the example")
    events = topic_events(topic)
    assert [(e.value["operation"], e.record_key) for e in events] == [
        ("UPSERT", "91310115EARAG6P2UG"), ("DELETE", "91440305MA5FXXXX0X")]
    assert events[0].value["record"]["status"] == "REVOKED"
