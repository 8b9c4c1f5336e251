"""Apply the outbox's SQL migrations (``migrations/NNN_*.sql``) to a department's database.

Each file is applied once, in name order, and recorded in ``govbus_outbox_migrations``; the
files are also written to be harmless when applied again. Concurrent runs wait for each other
(a transaction-level advisory lock), and a file is applied in the same transaction as its record.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg

from govbus.exceptions import ConfigurationError

MIN_SERVER_VERSION = 130000  # xid8, pg_current_xact_id(), pg_current_snapshot(), gen_random_uuid()

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS govbus_outbox_migrations (
    version    text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('govbus_outbox:migrations', 0))"


@dataclass(frozen=True)
class Migration:
    version: str
    sql: str


@dataclass(frozen=True)
class MigrationReport:
    applied: list[str]
    already_applied: list[str]


def shipped_migrations() -> list[Migration]:
    """The migrations shipped with the connector, in the order they apply."""
    folder = resources.files("connectors.outbox").joinpath("migrations")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return [Migration(f.name.removesuffix(".sql"), f.read_text(encoding="utf-8")) for f in files]


def migrate(conn: psycopg.Connection[Any], migrations: list[Migration] | None = None) -> MigrationReport:
    """Apply every migration not yet recorded; report what was applied and what already was."""
    if conn.info.server_version < MIN_SERVER_VERSION:
        raise ConfigurationError(
            f"the outbox needs PostgreSQL 13 or newer (xid8 transaction ids); this server is "
            f"{conn.info.server_version // 10000}"
        )
    report = MigrationReport([], [])
    for migration in migrations if migrations is not None else shipped_migrations():
        with conn.transaction():
            conn.execute(_LOCK)
            conn.execute(_BOOKKEEPING)
            done = conn.execute("SELECT 1 FROM govbus_outbox_migrations WHERE version = %s",
                                (migration.version,)).fetchone()
            if done:
                report.already_applied.append(migration.version)
                continue
            conn.execute(migration.sql.encode())
            conn.execute("INSERT INTO govbus_outbox_migrations (version) VALUES (%s)", (migration.version,))
            report.applied.append(migration.version)
    return report


def migrate_dsn(dsn: str) -> MigrationReport:
    """:func:`migrate` over a new connection to ``dsn``."""
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
            return migrate(conn)
    except psycopg.OperationalError as error:
        raise ConfigurationError(f"cannot connect to the outbox database: {error}".strip()) from error
