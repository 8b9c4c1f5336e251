"""Read outbox rows after a position, in an order consistent with commits, never skipping one.

Why a serial id is not enough
-----------------------------
``id`` comes from a sequence when a row is *inserted*; the row becomes visible when its
transaction *commits*. Two transactions can commit in the other order: T1 inserts id 7, T2
inserts id 8, T2 commits, T1 commits a second later. A reader that publishes "rows with
``id > position``" sees 8 first, stores position 8, and then never sees 7: the row is lost
for good. Waiting a fixed time does not help, since a transaction may stay open for minutes.

What is read instead
--------------------
Every row carries ``txid``, the 64-bit id of the transaction that inserted it
(``pg_current_xact_id()``, set by a trigger; 64-bit ``xid8`` never wraps around). The reader
takes, in one statement (one snapshot)::

    rows with (txid, id) > position  AND  txid < pg_snapshot_xmin(pg_current_snapshot())
    ordered by (txid, id)

``pg_snapshot_xmin`` is the oldest transaction still running anywhere in the cluster: every
transaction with a lower id has ended (committed or rolled back), and every new transaction
gets a higher id. So the rows below that horizon are final: no row with a lower ``txid`` can
appear later. Reading them in ``(txid, id)`` order and storing the last ``(txid, id)``
published as the position therefore never skips a row, whatever the commit order, and a row
is read again only if its position was not stored (the connector re-sends it with the same
event id).

What the order guarantees
-------------------------
- Nothing is skipped and nothing is read before its transaction has committed.
- The rows of one transaction come together, in the order they were inserted.
- If a transaction committed before another one started writing, its rows come first:
  causally ordered changes (an application that commits A, then acts on it in B) are published
  in that order.
- Transactions that *overlapped* in time are ordered by when they obtained their transaction id
  (their first write), which need not be their commit order. For unrelated changes this is a
  valid serial order. For two overlapping transactions that change the *same record*, it can
  invert them when the one that wrote first (anything) locked the record second. An application
  that needs per-record order should make the record's ``UPDATE`` (or a ``SELECT ... FOR
  UPDATE`` of it) the transaction's first write: a transaction then obtains its id no earlier
  than when it reaches for the record, so each writer of the record has a higher id than the
  writer it waited for, and the writers of one record are read in the order they committed.
- Cost: one long-running (or prepared) transaction anywhere in the cluster holds the horizon
  back, so rows committed after it started wait until it ends. They are delayed, never lost;
  ``govbus outbox status`` shows them as held back.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg

from govbus.envelope import Operation

# The txid of a row is sent and received as text: psycopg has no xid8 adapter, and Python ints
# would be sent as numeric, which does not compare with xid8. The text column gets its own name
# and ORDER BY names the table's columns: an unqualified ``ORDER BY txid`` would bind to an output
# column called txid, sort as text ('1000' < '999') and give up the index's order.
_READ = """
SELECT o.id, o.txid::text AS txid_text, o.event_id, o.data_item, o.operation, o.record_key, o.record,
       o.occurred_at, o.trace_id
  FROM govbus_outbox AS o
 WHERE (o.txid, o.id) > (%(txid)s::xid8, %(id)s)
   AND o.txid < pg_snapshot_xmin(pg_current_snapshot())
 ORDER BY o.txid, o.id
 LIMIT %(limit)s
"""

_WAITING = """
SELECT count(*),
       count(*) FILTER (WHERE txid < pg_snapshot_xmin(pg_current_snapshot())),
       min(created_at)
  FROM govbus_outbox
 WHERE (txid, id) > (%(txid)s::xid8, %(id)s)
"""


@dataclass(frozen=True, order=True)
class Position:
    """The last ``(txid, id)`` a connector published or rejected; rows after it are still to do."""

    txid: int
    id: int

    def params(self) -> dict[str, Any]:
        return {"txid": str(self.txid), "id": self.id}


START = Position(0, 0)
"""Before every row."""


@dataclass(frozen=True)
class OutboxRow:
    """One row of ``govbus_outbox``: a change to publish."""

    id: int
    txid: int
    event_id: uuid.UUID
    data_item: str
    operation: Operation
    record_key: str | None
    record: dict[str, Any] | None
    occurred_at: dt.datetime
    trace_id: str | None

    @property
    def position(self) -> Position:
        return Position(self.txid, self.id)


@dataclass(frozen=True)
class Waiting:
    """Committed rows after a position: ``ready`` ones are below the horizon, the rest are held back."""

    total: int
    ready: int
    oldest: dt.datetime | None

    @property
    def held_back(self) -> int:
        return self.total - self.ready


def read_batch(conn: psycopg.Connection[Any], after: Position, limit: int) -> list[OutboxRow]:
    """Up to ``limit`` rows after ``after`` whose transactions (and all earlier ones) have ended."""
    with conn.cursor() as cursor:
        cursor.execute(_READ, {**after.params(), "limit": limit})
        return [_row(values) for values in cursor.fetchall()]


def _row(values: tuple[Any, ...]) -> OutboxRow:
    row_id, txid, event_id, data_item, operation, record_key, record, occurred_at, trace_id = values
    return OutboxRow(
        id=row_id, txid=int(txid), event_id=event_id, data_item=data_item, operation=Operation(operation),
        record_key=record_key, record=record, occurred_at=occurred_at, trace_id=trace_id,
    )


def count_waiting(conn: psycopg.Connection[Any], after: Position) -> Waiting:
    """How many committed rows come after ``after``, and how many of them could be read now."""
    with conn.cursor() as cursor:
        cursor.execute(_WAITING, after.params())
        found = cursor.fetchone()
    if found is None:
        return Waiting(0, 0, None)
    total, ready, oldest = found
    return Waiting(int(total), int(ready), oldest)
