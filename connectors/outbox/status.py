"""What ``govbus outbox status`` reports: where a connector is, what waits, what was rejected."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import psycopg

from connectors.outbox.position import PositionStore
from connectors.outbox.reader import Position, count_waiting
from govbus.exceptions import ConfigurationError


@dataclass(frozen=True)
class RejectedRow:
    outbox_id: int
    event_id: str
    data_item: str
    field: str
    rule: str
    reason: str
    rejected_at: dt.datetime


@dataclass(frozen=True)
class OutboxStatus:
    connector: str
    position: Position
    position_updated_at: dt.datetime | None
    rows_waiting: int
    rows_ready: int
    rows_held_back: int
    oldest_waiting_at: dt.datetime | None
    rejected: int
    latest_rejected: list[RejectedRow]

    def as_json(self) -> dict[str, Any]:
        def when(value: dt.datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "connector": self.connector,
            "position": {"txid": str(self.position.txid), "id": self.position.id,
                         "updated_at": when(self.position_updated_at)},
            "rows_waiting": self.rows_waiting, "rows_ready": self.rows_ready, "rows_held_back": self.rows_held_back,
            "oldest_waiting_at": when(self.oldest_waiting_at), "rejected": self.rejected,
            "latest_rejected": [{**r.__dict__, "rejected_at": r.rejected_at.isoformat()} for r in self.latest_rejected],
        }


_LATEST_REJECTED = """
SELECT outbox_id, event_id::text, data_item, field, rule, reason, rejected_at
  FROM govbus_outbox_rejected WHERE connector = %s ORDER BY outbox_id DESC LIMIT %s
"""


def outbox_status(dsn: str, connector: str, latest: int = 5) -> OutboxStatus:
    """The status of connector ``connector`` in the database at ``dsn`` (read-only)."""
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
            store = PositionStore(conn, connector)
            stored = store.load()
            waiting = count_waiting(conn, stored.position)
            rows = conn.execute(_LATEST_REJECTED, (connector, latest)).fetchall()
            return OutboxStatus(
                connector=connector, position=stored.position, position_updated_at=stored.updated_at,
                rows_waiting=waiting.total, rows_ready=waiting.ready, rows_held_back=waiting.held_back,
                oldest_waiting_at=waiting.oldest, rejected=store.rejected_count(),
                latest_rejected=[RejectedRow(*row) for row in rows],
            )
    except psycopg.OperationalError as error:
        raise ConfigurationError(f"cannot connect to the outbox database: {error}".strip()) from error
    except psycopg.errors.UndefinedTable as error:
        raise ConfigurationError(f"the outbox tables are missing ({error}); run `govbus outbox migrate --dsn ...`"
                                 ) from error
