"""Write a batch of row changes to PostgreSQL in one transaction.

The batch is first reduced to the last change per (table, key): the rows end as if every change
had been applied in order (changes of one key come from one partition, in order), with fewer
statements. Then per table: the DDL the batch's writer schemas need (create, widen), the upserts
(one ``executemany`` per writer schema) and the deletes, and one commit. Redelivered changes
write the same rows again: harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from connectors.pg_mirror.columns import Column, adapt, storable_text
from connectors.pg_mirror.source import Key, RowChange
from connectors.pg_mirror.table import (
    TableName,
    TableState,
    create,
    delete_statement,
    load_state,
    stage_statements,
    upsert_statement,
    widen,
)

log = logging.getLogger(__name__)

COPY_FROM = 64
"""Groups of at least this many upserts go through COPY and a temporary table, smaller ones through executemany."""

# Let the server notice a vanished mirror within about half a minute.
_KEEPALIVE = "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3"


@dataclass
class Written:
    """What one committed batch did, per table."""

    upserted: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    added_columns: dict[str, list[str]] = field(default_factory=dict)

    def add(self, other: Written) -> None:
        for table, n in other.upserted.items():
            self.upserted[table] = self.upserted.get(table, 0) + n
        for table, n in other.deleted.items():
            self.deleted[table] = self.deleted.get(table, 0) + n
        for table, names in other.added_columns.items():
            self.added_columns.setdefault(table, []).extend(names)


@dataclass(frozen=True)
class Refused:
    """A change the database refused (isolated from its batch), and why."""

    change: RowChange
    error: psycopg.Error


def last_per_key(changes: Sequence[RowChange]) -> list[RowChange]:
    """The last change of every (table, key), in the order of those last changes."""
    last: dict[tuple[TableName, Key], RowChange] = {}
    for change in changes:
        identity = (change.table, change.key)
        last.pop(identity, None)
        last[identity] = change
    return list(last.values())


class PgWriter:
    """Applies row changes to the tables of ``keys`` (table -> key columns) through one connection."""

    def __init__(self, dsn: str, keys: Mapping[TableName, Sequence[str]], application_name: str = "govbus-mirror"):
        self._dsn = dsn
        self._keys = {table: tuple(key) for table, key in keys.items()}
        self._application_name = application_name[:63]
        self._conn: psycopg.Connection[Any] | None = None
        self._states: dict[TableName, TableState] = {}
        """Tables as last committed (a failed transaction clears this: it is read again)."""
        self._stages = 0

    def set_keys(self, keys: Mapping[TableName, Sequence[str]]) -> None:
        self._keys = {table: tuple(key) for table, key in keys.items()}

    def connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._dsn, connect_timeout=10, application_name=self._application_name,
                                         options=_KEEPALIVE)
            self._states.clear()
        return self._conn

    def close(self) -> None:
        conn, self._conn = self._conn, None
        self._states.clear()
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:
                pass

    def write(self, changes: Sequence[RowChange]) -> Written:
        """Apply ``changes`` in one transaction; on any error nothing is applied (and the error is raised)."""
        conn = self.connection()
        pending: dict[TableName, TableState] = {}
        written = Written()
        try:
            with conn.transaction():
                for table, group in _by_table(last_per_key(changes)).items():
                    written.add(self._apply(conn, table, group, pending))
        except psycopg.Error:
            self._after_failure()
            raise
        self._states.update(pending)
        return written

    def write_each(self, changes: Sequence[RowChange]) -> tuple[Written, list[Refused]]:
        """Apply ``changes`` one by one (each in a savepoint of one transaction); those the database refuses
        are left out and returned. Connection failures are raised, as from :meth:`write`."""
        conn = self.connection()
        pending: dict[TableName, TableState] = {}
        written, refused = Written(), []
        try:
            with conn.transaction():
                for change in last_per_key(changes):
                    try:
                        with conn.transaction():
                            written.add(self._apply(conn, change.table, [change], pending))
                    except psycopg.OperationalError:
                        raise
                    except psycopg.Error as error:
                        refused.append(Refused(change, error))
                        _reload(conn, change.table, pending)
        except psycopg.Error:
            self._after_failure()
            raise
        self._states.update(pending)
        return written, refused

    def _after_failure(self) -> None:
        self._states.clear()
        if self._conn is not None and (self._conn.closed or self._conn.broken):
            self.close()

    def _apply(self, conn: psycopg.Connection[Any], table: TableName, changes: Sequence[RowChange],
               pending: dict[TableName, TableState]) -> Written:
        key = self._keys[table]
        upserts = [c for c in changes if c.record is not None]
        deletes = [tuple(storable_text(part) if isinstance(part, str) else part for part in c.key)
                   for c in changes if c.record is None]
        written = Written()
        state = pending.get(table) or self._states.get(table)
        if state is None:
            state = load_state(conn, table)
        if state is None and not upserts:
            return written  # no table yet: nothing to delete
        by_schema: dict[int, list[RowChange]] = {}  # one group per writer schema (ColumnCache shares the tuple)
        for change in upserts:
            by_schema.setdefault(id(change.columns), []).append(change)
        for group in by_schema.values():
            state = self._ensure(conn, table, state, group[0].columns, key, written)
        if state is not None:
            pending[table] = state
        for group in by_schema.values():
            assert state is not None
            self._upsert(conn, table, state, key, group)
        if upserts:
            written.upserted[str(table)] = len(upserts)
        if deletes:
            with conn.cursor() as cursor:
                cursor.executemany(delete_statement(table, key), deletes)
                written.deleted[str(table)] = max(cursor.rowcount, 0)
        return written

    def _upsert(self, conn: psycopg.Connection[Any], table: TableName, state: TableState, key: Sequence[str],
                group: Sequence[RowChange]) -> None:
        names = [c.name for c in group[0].columns]
        types = [state.columns[name].pg_type for name in names]
        rows = [[adapt(record.get(n), t) for n, t in zip(names, types, strict=True)]
                for record in (change.record or {} for change in group)]
        with conn.cursor() as cursor:
            if len(rows) < COPY_FROM:
                cursor.executemany(upsert_statement(table, state, names, key), rows)
                return
            self._stages += 1
            stage = f"_govbus_stage_{self._stages}"
            create_stage, copy_rows = stage_statements(table, names, stage)
            cursor.execute(create_stage)
            with cursor.copy(copy_rows) as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(upsert_statement(table, state, names, key, sql.Identifier(stage)))

    def _ensure(self, conn: psycopg.Connection[Any], table: TableName, state: TableState | None,
                columns: Sequence[Column], key: Sequence[str], written: Written) -> TableState:
        change = create(table, columns, key) if state is None else widen(table, state, columns, key)
        for statement in change.statements:
            conn.execute(statement)
        if change.added:
            written.added_columns.setdefault(str(table), []).extend(change.added)
            log.info("table created" if state is None else "table widened",
                     extra={"table": str(table), "columns": change.added})
        return change.state


def _reload(conn: psycopg.Connection[Any], table: TableName, pending: dict[TableName, TableState]) -> None:
    """After a savepoint rolled back: the table as the transaction now sees it."""
    state = load_state(conn, table)
    if state is None:
        pending.pop(table, None)
    else:
        pending[table] = state


def _by_table(changes: Sequence[RowChange]) -> dict[TableName, list[RowChange]]:
    groups: dict[TableName, list[RowChange]] = {}
    for change in changes:
        groups.setdefault(change.table, []).append(change)
    return groups
