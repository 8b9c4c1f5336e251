"""One mirrored table: what it has, the DDL that creates or widens it, and its upsert and delete statements.

- **Created on first use**: ``CREATE TABLE IF NOT EXISTS`` with the writer schema's columns and the
  item's key fields as primary key.
- **Widened** when a writer schema brings a field the table lacks: ``ALTER TABLE ... ADD COLUMN``
  (nullable, with the field's Avro default as column default, so existing rows read like an Avro
  reader with the new schema reads old records); a field that became nullable, or that a writer
  schema no longer has, loses ``NOT NULL``; an int or long promoted to float or double becomes
  ``double precision``. Columns are never dropped or narrowed.
- **Upsert**: ``INSERT ... ON CONFLICT (key) DO UPDATE``; the columns the writer schema lacks are set
  to their ``DEFAULT``. Many rows go first by ``COPY`` into a temporary table dropped at commit, then
  ``INSERT ... SELECT ... ON CONFLICT`` (one key appears once per batch, so no row is hit twice).
  **Delete**: by key.

The DDL runs in the same transaction as the rows it is needed for, so a failed batch leaves the
table as it was; :class:`TableState` is updated by the caller only after the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg
from psycopg import sql

from connectors.pg_mirror.columns import UDT_NAMES, Column, check_identifier, holds, widening
from govbus.exceptions import ConfigurationError


@dataclass(frozen=True)
class TableName:
    """``table`` or ``schema.table``."""

    table: str
    schema: str | None = None

    @classmethod
    def parse(cls, text: str) -> TableName:
        parts = text.split(".")
        if len(parts) > 2:
            raise ConfigurationError(f"table name {text!r}: use table or schema.table")
        for part in parts:
            check_identifier(part, "table name part")
        return cls(parts[-1], parts[0] if len(parts) == 2 else None)

    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.table) if self.schema else sql.Identifier(self.table)

    def __str__(self) -> str:
        return f"{self.schema}.{self.table}" if self.schema else self.table


@dataclass(frozen=True)
class Existing:
    pg_type: str
    nullable: bool


@dataclass
class TableState:
    """The columns a table has (name -> type and nullability), in order."""

    columns: dict[str, Existing] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    """DDL for one table and the state it leaves."""

    statements: list[sql.Composed]
    state: TableState
    added: list[str]


def load_state(conn: psycopg.Connection[Any], name: TableName) -> TableState | None:
    """The table's columns as the database has them, or ``None`` if there is no such table."""
    rows = conn.execute(
        "SELECT column_name, udt_name, is_nullable = 'YES' FROM information_schema.columns "
        "WHERE table_schema = coalesce(%s, current_schema()) AND table_name = %s ORDER BY ordinal_position",
        (name.schema, name.table)).fetchall()
    if not rows:
        return None
    return TableState({column: Existing(UDT_NAMES.get(udt, udt), bool(nullable)) for column, udt, nullable in rows})


def create(name: TableName, columns: Sequence[Column], key: Sequence[str]) -> Change:
    """``CREATE TABLE IF NOT EXISTS`` with ``columns``; the ``key`` columns form the primary key."""
    missing = [k for k in key if k not in {c.name for c in columns}]
    if missing:
        raise ConfigurationError(f"table {name}: key field(s) {', '.join(missing)} are not among the mirrored "
                                 "fields; a mirror keeps one row per key and needs them")
    parts = [sql.SQL("{} {}{}").format(sql.Identifier(c.name), sql.SQL(c.pg_type),
                                       sql.SQL("" if c.nullable and c.name not in key else " NOT NULL"))
             for c in columns]
    parts.append(sql.SQL("PRIMARY KEY ({})").format(sql.SQL(", ").join(map(sql.Identifier, key))))
    statement = sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(name.ident(), sql.SQL(", ").join(parts))
    state = TableState({c.name: Existing(c.pg_type, c.nullable and c.name not in key) for c in columns})
    return Change([statement], state, [c.name for c in columns])


def widen(name: TableName, state: TableState, columns: Sequence[Column], key: Sequence[str]) -> Change:
    """The DDL that lets ``state`` take rows of ``columns`` (nothing when it already can)."""
    statements: list[sql.Composed] = []
    new = dict(state.columns)
    added: list[str] = []
    wanted = {c.name: c for c in columns}
    for column in columns:
        existing = new.get(column.name)
        if existing is None:
            statements.append(_add_column(name, column))
            new[column.name] = Existing(column.pg_type, True)
            added.append(column.name)
            continue
        if not holds(existing.pg_type, column.pg_type):
            new[column.name] = replace(existing, pg_type=_retype(name, column, existing, statements))
        if column.nullable and not existing.nullable and column.name not in key:
            statements.append(_alter(name, column.name, sql.SQL("DROP NOT NULL")))
            new[column.name] = replace(new[column.name], nullable=True)
    for column_name, existing in state.columns.items():
        if column_name not in wanted and column_name not in key and not existing.nullable:
            statements.append(_alter(name, column_name, sql.SQL("DROP NOT NULL")))
            new[column_name] = replace(existing, nullable=True)
    return Change(statements, TableState(new), added)


def _add_column(name: TableName, column: Column) -> sql.Composed:
    default = sql.SQL(" DEFAULT {}").format(sql.Literal(column.default)) if column.default is not None else sql.SQL("")
    return sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}{}").format(
        name.ident(), sql.Identifier(column.name), sql.SQL(column.pg_type), default)


def _alter(name: TableName, column: str, action: sql.Composable) -> sql.Composed:
    return sql.SQL("ALTER TABLE {} ALTER COLUMN {} {}").format(name.ident(), sql.Identifier(column), action)


def _retype(name: TableName, column: Column, existing: Existing, statements: list[sql.Composed]) -> str:
    target = widening(existing.pg_type, column.pg_type)
    if target is None:
        raise ConfigurationError(
            f"table {name}: column {column.name} is {existing.pg_type} but the writer schema now makes it "
            f"{column.pg_type}, and changing it could lose rows; migrate the column by hand "
            f"(ALTER TABLE {name} ALTER COLUMN {column.name} TYPE ...) or mirror into a new table")
    using = sql.SQL("to_jsonb({})" if target == "jsonb" else "{}::" + target).format(sql.Identifier(column.name))
    statements.append(_alter(name, column.name, sql.SQL("TYPE {} USING {}").format(sql.SQL(target), using)))
    return target


def upsert_statement(name: TableName, state: TableState, written: Sequence[str], key: Sequence[str],
                     source: sql.Composable | None = None) -> sql.Composed:
    """``INSERT`` of the ``written`` columns (in that order), updating every other column on conflict:
    the written ones from the new row, the ones the writer lacks to their default. The rows are bound
    parameters, or with ``source`` (a table holding the ``written`` columns) selected from it."""
    updates = [sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in written if c not in key]
    updates += [sql.SQL("{} = DEFAULT").format(sql.Identifier(c)) for c in state.columns
                if c not in written and c not in key]
    action = (sql.SQL("DO UPDATE SET {}").format(sql.SQL(", ").join(updates)) if updates
              else sql.SQL("DO NOTHING"))
    columns = sql.SQL(", ").join(map(sql.Identifier, written))
    rows = (sql.SQL("VALUES ({})").format(sql.SQL(", ").join(sql.Placeholder() * len(written))) if source is None
            else sql.SQL("SELECT {} FROM {}").format(columns, source))
    return sql.SQL("INSERT INTO {} ({}) {} ON CONFLICT ({}) {}").format(
        name.ident(), columns, rows, sql.SQL(", ").join(map(sql.Identifier, key)), action)


def stage_statements(name: TableName, written: Sequence[str], stage: str) -> tuple[sql.Composed, sql.Composed]:
    """A temporary table ``stage`` with the ``written`` columns of ``name`` (no constraints; dropped at commit),
    and the ``COPY`` that fills it."""
    columns = sql.SQL(", ").join(map(sql.Identifier, written))
    create_stage = sql.SQL("CREATE TEMPORARY TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
        sql.Identifier(stage), columns, name.ident())
    return create_stage, sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(stage), columns)


def delete_statement(name: TableName, key: Sequence[str]) -> sql.Composed:
    condition = sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in key)
    return sql.SQL("DELETE FROM {} WHERE {}").format(name.ident(), condition)
