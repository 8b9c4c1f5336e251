"""Fixtures for the outbox connector: a real PostgreSQL server (session), a migrated database per test."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from connectors.outbox.migrate import migrate
from govbus.testing.postgres import PostgresServer, session_postgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """GOVBUS_TEST_POSTGRES_DSN, else a private cluster on 127.0.0.1 (stopped by PID at the end)."""
    with session_postgres() as server:
        yield server


@pytest.fixture
def postgres_dsn(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database of this test's own (dropped afterwards)."""
    with postgres_server.database(request.node.name) as dsn:
        yield dsn


@pytest.fixture
def outbox_dsn(postgres_dsn: str) -> str:
    """A database of this test's own with the outbox migration applied."""
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        migrate(conn)
    return postgres_dsn
