"""Helpers of the outbox integration tests: writing outbox rows, running a connector, waiting."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg

from connectors.outbox.connector import OutboxConnector
from connectors.outbox.reader import Position
from govbus.demo.synthetic import enterprise_registrations

ITEM = "enterprise_registration"


@dataclass(frozen=True)
class TopicEvent:
    partition: int
    offset: int
    value: dict[str, Any]

    @property
    def event_id(self) -> str:
        return str(self.value["event_id"])

    @property
    def record_key(self) -> str:
        return str(self.value["record_key"])


@dataclass(frozen=True)
class WrittenRow:
    id: int
    txid: int
    event_id: str
    record_key: str | None

    @property
    def position(self) -> Position:
        return Position(self.txid, self.id)


def records(count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` valid enterprise registrations with distinct keys, as JSON-ready dicts."""
    made = [json.loads(json.dumps(r.record, default=str)) for r in enterprise_registrations(count, 0.0, seed)]
    assert len({r["uscc"] for r in made}) == count
    return made


def insert_upsert(conn: psycopg.Connection[Any], record: dict[str, Any], item: str = ITEM,
                  record_key: str | None = None) -> WrittenRow:
    """Insert one UPSERT row in ``conn``'s current transaction."""
    found = conn.execute(
        "INSERT INTO govbus_outbox (data_item, record_key, record) VALUES (%s, %s, %s) "
        "RETURNING id, txid::text, event_id::text",
        (item, record_key if record_key is not None else record.get("uscc"), json.dumps(record, ensure_ascii=False)),
    ).fetchone()
    assert found is not None
    return WrittenRow(int(found[0]), int(found[1]), str(found[2]), record_key or record.get("uscc"))


def insert_delete(conn: psycopg.Connection[Any], record_key: str, item: str = ITEM) -> WrittenRow:
    found = conn.execute(
        "INSERT INTO govbus_outbox (data_item, operation, record_key) VALUES (%s, 'DELETE', %s) "
        "RETURNING id, txid::text, event_id::text", (item, record_key),
    ).fetchone()
    assert found is not None
    return WrittenRow(int(found[0]), int(found[1]), str(found[2]), record_key)


def outbox_rows(dsn: str) -> list[WrittenRow]:
    """Every outbox row, in (txid, id) order."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute("SELECT o.id, o.txid::text, o.event_id::text, o.record_key FROM govbus_outbox AS o "
                            "ORDER BY o.txid, o.id").fetchall()
    return [WrittenRow(int(i), int(t), str(e), k) for i, t, e, k in rows]


def stored_position(dsn: str, connector: str) -> Position | None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        found = conn.execute("SELECT last_txid::text, last_id FROM govbus_outbox_position WHERE connector = %s",
                             (connector,)).fetchone()
    return Position(int(found[0]), int(found[1])) if found else None


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


@contextmanager
def running(connector: OutboxConnector) -> Iterator[threading.Thread]:
    """Run ``connector`` in a thread for the block; stop it and re-raise whatever it raised."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            connector.run()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=target, name="outbox-connector", daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        connector.stop()
        thread.join(60)
    assert not thread.is_alive(), "the connector did not stop within 60 s"
    if errors:
        raise errors[0]
