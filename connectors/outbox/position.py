"""The connector's stored position and its record of rejected rows, in the department's database.

A batch ends with one transaction that records the batch's rejected rows and moves the
position to the batch's last row; it is committed before the next batch is read. The position
only ever moves forward (a stale writer cannot move it back).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from connectors.outbox.reader import START, Position

_LOAD = "SELECT last_txid::text, last_id, updated_at FROM govbus_outbox_position WHERE connector = %s"

_STORE = """
INSERT INTO govbus_outbox_position AS p (connector, last_txid, last_id, updated_at)
VALUES (%(connector)s, %(txid)s::xid8, %(id)s, now())
ON CONFLICT (connector) DO UPDATE
   SET last_txid = excluded.last_txid, last_id = excluded.last_id, updated_at = excluded.updated_at
 WHERE (p.last_txid, p.last_id) < (excluded.last_txid, excluded.last_id)
"""

_REJECT = """
INSERT INTO govbus_outbox_rejected (connector, outbox_id, txid, event_id, data_item, field, rule, reason)
VALUES (%s, %s, %s::xid8, %s, %s, %s, %s, %s)
ON CONFLICT (connector, outbox_id) DO NOTHING
"""

# Advisory locks are one bigint per key: the connector's name hashed into one.
_TRY_LOCK = "SELECT pg_try_advisory_lock(hashtextextended('govbus_outbox:' || %s, 0))"


@dataclass(frozen=True)
class Rejection:
    """An outbox row that breaks its item's rules: not published, recorded, and passed over."""

    outbox_id: int
    txid: int
    event_id: uuid.UUID
    data_item: str
    field: str
    rule: str
    reason: str


@dataclass(frozen=True)
class StoredPosition:
    position: Position
    updated_at: dt.datetime | None


class PositionStore:
    """Loads and stores the position of the connector ``name`` over ``conn`` (an autocommit connection)."""

    def __init__(self, conn: psycopg.Connection[Any], name: str) -> None:
        self._conn = conn
        self.name = name

    def load(self) -> StoredPosition:
        """The stored position, or :data:`START` for a connector that never stored one."""
        found = self._conn.execute(_LOAD, (self.name,)).fetchone()
        if found is None:
            return StoredPosition(START, None)
        txid, last_id, updated_at = found
        return StoredPosition(Position(int(txid), int(last_id)), updated_at)

    def store(self, position: Position, rejections: Sequence[Rejection] = ()) -> None:
        """Record ``rejections`` and move to ``position``, in one committed transaction."""
        with self._conn.transaction(), self._conn.cursor() as cursor:
            if rejections:
                cursor.executemany(_REJECT, [
                    (self.name, r.outbox_id, str(r.txid), r.event_id, r.data_item, r.field, r.rule, r.reason)
                    for r in rejections
                ])
            cursor.execute(_STORE, {"connector": self.name, **position.params()})

    def try_lock(self) -> bool:
        """Take the session lock that lets one process at a time run connector ``name``."""
        found = self._conn.execute(_TRY_LOCK, (self.name,)).fetchone()
        return bool(found and found[0])

    def rejected_count(self) -> int:
        found = self._conn.execute("SELECT count(*) FROM govbus_outbox_rejected WHERE connector = %s",
                                   (self.name,)).fetchone()
        return int(found[0]) if found else 0
