"""The migration and the reader against a real PostgreSQL: idempotence, horizon, commit-consistent order."""

from __future__ import annotations

import json
import threading
from typing import Any

import psycopg
import pytest

from connectors.outbox.migrate import migrate
from connectors.outbox.position import PositionStore, Rejection
from connectors.outbox.reader import START, Position, count_waiting, read_batch

_INSERT = "INSERT INTO govbus_outbox (data_item, record_key, record) VALUES ('enterprise_registration', %s, %s)"


def _insert(conn: psycopg.Connection[Any], key: str) -> int:
    found = conn.execute(_INSERT + " RETURNING id", (key, json.dumps({"k": key}))).fetchone()
    assert found is not None
    return int(found[0])


def _objects(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    rows = conn.execute("""
        SELECT 'table', tablename FROM pg_tables WHERE tablename LIKE 'govbus_outbox%%'
        UNION ALL SELECT 'index', indexname FROM pg_indexes WHERE tablename LIKE 'govbus_outbox%%'
        UNION ALL SELECT 'trigger', tgname FROM pg_trigger WHERE tgname LIKE 'govbus_outbox%%'
        ORDER BY 1, 2""").fetchall()
    return [(str(kind), str(name)) for kind, name in rows]


def test_migration_is_idempotent(postgres_dsn: str) -> None:
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        first = migrate(conn)
        objects = _objects(conn)
        _insert(conn, "kept")
        second = migrate(conn)
        assert (first.applied, first.already_applied) == (["001_outbox"], [])
        assert (second.applied, second.already_applied) == ([], ["001_outbox"])
        assert _objects(conn) == objects
        assert ("trigger", "govbus_outbox_set_txid") in objects
        assert ("index", "govbus_outbox_txid_id") in objects
        # applying the file itself again (as a DBA might) changes nothing either
        from connectors.outbox.migrate import shipped_migrations

        conn.execute(shipped_migrations()[0].sql.encode())
        assert _objects(conn) == objects
        assert conn.execute("SELECT count(*) FROM govbus_outbox").fetchone() == (1,)


def test_concurrent_migrations_wait_for_each_other(postgres_dsn: str) -> None:
    reports = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with psycopg.connect(postgres_dsn, autocommit=True) as conn:
                reports.append(migrate(conn))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(len(r.applied) for r in reports) == [0, 0, 0, 1]


def test_txid_is_the_inserting_transaction_whatever_the_insert_says(outbox_dsn: str) -> None:
    with psycopg.connect(outbox_dsn) as conn:
        conn.execute("INSERT INTO govbus_outbox (data_item, record, txid) VALUES ('x', '{}', '3')")
        found = conn.execute("SELECT txid::text, pg_current_xact_id()::text FROM govbus_outbox").fetchone()
        assert found is not None and found[0] == found[1] and found[0] != "3"


def test_a_delete_needs_a_key_and_an_upsert_a_record(outbox_dsn: str) -> None:
    with psycopg.connect(outbox_dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO govbus_outbox (data_item, operation) VALUES ('x', 'DELETE')")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO govbus_outbox (data_item, operation, record_key) VALUES ('x', 'UPSERT', 'k')")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO govbus_outbox (data_item, operation, record) VALUES ('x', 'MERGE', '{}')")


def test_rows_of_an_open_transaction_hold_back_later_commits_and_nothing_is_skipped(outbox_dsn: str) -> None:
    """T1 inserts first (lower id) and commits last: a serial-id reader would skip its row."""
    with psycopg.connect(outbox_dsn) as t1, psycopg.connect(outbox_dsn) as t2, \
            psycopg.connect(outbox_dsn, autocommit=True) as reader:
        low = _insert(t1, "t1-a")
        high = _insert(t2, "t2-a")
        assert low < high
        t2.commit()
        # what a serial-id reader sees now: only the higher id; storing it as position would lose `low`
        naive = reader.execute("SELECT id FROM govbus_outbox WHERE id > 0 ORDER BY id").fetchall()
        assert naive == [(high,)]
        # the horizon reader waits: T1 is still open and could precede T2
        assert read_batch(reader, START, 100) == []
        waiting = count_waiting(reader, START)
        assert (waiting.total, waiting.ready, waiting.held_back) == (1, 0, 1)
        second = _insert(t1, "t1-b")
        t1.commit()
        rows = read_batch(reader, START, 100)
        assert [r.record_key for r in rows] == ["t1-a", "t1-b", "t2-a"]
        assert [r.id for r in rows] == [low, second, high]
        assert rows == sorted(rows, key=lambda r: r.position)
        # reading after the position of the first row returns the rest, and a short batch stops where asked
        assert [r.record_key for r in read_batch(reader, rows[0].position, 1)] == ["t1-b"]
        assert read_batch(reader, rows[-1].position, 100) == []


def test_a_rolled_back_transaction_leaves_nothing_behind(outbox_dsn: str) -> None:
    with psycopg.connect(outbox_dsn) as t1, psycopg.connect(outbox_dsn, autocommit=True) as reader:
        _insert(t1, "gone")
        _insert(reader, "kept")
        assert read_batch(reader, START, 10) == []  # held back by t1
        t1.rollback()
        assert [r.record_key for r in read_batch(reader, START, 10)] == ["kept"]


def test_record_first_transactions_are_read_in_commit_order(outbox_dsn: str) -> None:
    """Two writers of one record that lock it before any other write are read in the order they committed."""
    with psycopg.connect(outbox_dsn, autocommit=True) as setup:
        setup.execute("CREATE TABLE enterprise (uscc text PRIMARY KEY, status text)")
        setup.execute("INSERT INTO enterprise VALUES ('E1', 'ESTABLISHED')")
    with psycopg.connect(outbox_dsn) as first, psycopg.connect(outbox_dsn) as second, \
            psycopg.connect(outbox_dsn, autocommit=True) as reader:
        first.execute("SELECT * FROM enterprise WHERE uscc = 'E1' FOR UPDATE")
        done = threading.Event()

        def second_writer() -> None:
            second.execute("SELECT * FROM enterprise WHERE uscc = 'E1' FOR UPDATE")  # waits for `first`
            second.execute("UPDATE enterprise SET status = 'REVOKED' WHERE uscc = 'E1'")
            _insert(second, "second")
            second.commit()
            done.set()

        thread = threading.Thread(target=second_writer)
        thread.start()
        assert not done.wait(0.5)  # blocked on the row lock
        first.execute("UPDATE enterprise SET status = 'CHANGED' WHERE uscc = 'E1'")
        _insert(first, "first")
        first.commit()
        thread.join(10)
        assert done.is_set()
        assert [r.record_key for r in read_batch(reader, START, 10)] == ["first", "second"]
        assert reader.execute("SELECT status FROM enterprise").fetchone() == ("REVOKED",)


def test_the_position_only_moves_forward_and_rejections_are_stored_with_it(outbox_dsn: str) -> None:
    with psycopg.connect(outbox_dsn, autocommit=True) as conn:
        row_id = _insert(conn, "bad")
        row = read_batch(conn, START, 1)[0]
        store = PositionStore(conn, "c1")
        assert store.load().position == START
        rejection = Rejection(row_id, row.txid, row.event_id, row.data_item, "uscc", "uscc.check_character", "bad")
        store.store(row.position, [rejection])
        store.store(row.position, [rejection])  # a retried batch records it once
        store.store(Position(1, 1))  # behind: ignored
        assert store.load().position == row.position
        assert store.rejected_count() == 1
        assert PositionStore(conn, "other").load().position == START


def test_one_process_at_a_time_holds_a_connector_name(outbox_dsn: str) -> None:
    with psycopg.connect(outbox_dsn, autocommit=True) as a, psycopg.connect(outbox_dsn, autocommit=True) as b:
        assert PositionStore(a, "c1").try_lock()
        assert not PositionStore(b, "c1").try_lock()
        assert PositionStore(b, "c2").try_lock()
    with psycopg.connect(outbox_dsn, autocommit=True) as c:
        assert PositionStore(c, "c1").try_lock()  # released when the holder's session ended


def test_overlapping_transactions_are_ordered_by_first_write_not_by_commit(outbox_dsn: str) -> None:
    """The documented limit: T1 wrote first (lower txid) but committed last; it is still read first."""
    with psycopg.connect(outbox_dsn) as t1, psycopg.connect(outbox_dsn) as t2, \
            psycopg.connect(outbox_dsn, autocommit=True) as reader:
        t1.execute("SELECT pg_current_xact_id()")  # T1 obtains its transaction id (its first write)
        _insert(t2, "t2")
        t2.commit()
        _insert(t1, "t1")
        t1.commit()
        rows = read_batch(reader, START, 10)
        assert [r.record_key for r in rows] == ["t1", "t2"]
        assert rows[0].id > rows[1].id  # neither id order nor commit order: first-write order


def _burn_transaction_ids(conn: psycopg.Connection[Any], count: int) -> None:
    """Consume ``count`` transaction ids in one statement (one written subtransaction each)."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS burn (x int)")
    conn.execute(f"""DO $$ BEGIN FOR i IN 1..{int(count)} LOOP
        BEGIN INSERT INTO burn VALUES (i); EXCEPTION WHEN others THEN NULL; END;
        END LOOP; END $$""".encode())


def _next_txid(conn: psycopg.Connection[Any]) -> int:
    """Assign (and so consume) a transaction id; the next one will be higher."""
    found = conn.execute("SELECT pg_current_xact_id()::text").fetchone()
    assert found is not None
    return int(found[0])


def test_order_is_numeric_across_a_power_of_ten_of_transaction_ids(outbox_dsn: str) -> None:
    """Regression: the txid travels as text, but rows must still be ordered as numbers (999 < 1000)."""
    with psycopg.connect(outbox_dsn, autocommit=True) as conn:
        current = _next_txid(conn)
        target = 10 ** len(str(current)) - 3
        if target - current > 50_000:
            pytest.skip(f"transaction ids are at {current}: too far from the next power of ten to cross")
        _burn_transaction_ids(conn, max(target - current - 10, 0))
        while _next_txid(conn) < target:
            pass
        keys = []
        for n in range(6):  # each insert its own transaction: ids cross the power of ten on the way
            _insert(conn, f"row-{n}")
            keys.append(f"row-{n}")
        txids = [r.txid for r in read_batch(conn, START, 100)]
        assert len(str(txids[0])) < len(str(txids[-1])), f"did not cross a power of ten: {txids}"
        rows = read_batch(conn, START, 100)
        assert [r.record_key for r in rows] == keys
        # and resuming after a position whose txid has fewer digits finds every later row
        assert [r.record_key for r in read_batch(conn, rows[0].position, 100)] == keys[1:]


def test_a_batch_is_read_from_the_index_in_order_not_sorted(outbox_dsn: str) -> None:
    from connectors.outbox.reader import _READ

    with psycopg.connect(outbox_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO govbus_outbox (data_item, record) SELECT 'x', '{}' FROM generate_series(1, 5000)")
        conn.execute("ANALYZE govbus_outbox")
        plan = "\n".join(r[0] for r in conn.execute(b"EXPLAIN " + _READ.encode(), {"txid": "0", "id": 0, "limit": 100}))
    assert "Index Scan using govbus_outbox_txid_id" in plan and "Sort" not in plan, plan
