"""The private PostgreSQL cluster helper that the outbox (and later the mirror) tests run on."""

from __future__ import annotations

import psycopg
import pytest

from govbus.platform.postgres import PostgresServer, private_cluster, unique_database_name
from govbus.platform.processes import is_alive


def test_a_private_cluster_listens_on_loopback_and_stops_by_pid() -> None:
    with private_cluster() as cluster:
        assert is_alive(cluster.pid)
        with psycopg.connect(cluster.admin_dsn, autocommit=True) as conn:
            address = conn.execute("SELECT inet_server_addr()::text, current_setting('listen_addresses')").fetchone()
            assert address is not None
            assert address[0].startswith("127.0.0.1") and address[1] == "127.0.0.1"
        pid = cluster.pid
    assert not is_alive(pid)
    assert not cluster.data_dir.exists()


def test_each_test_database_is_separate_and_dropped(postgres_server: PostgresServer) -> None:
    with postgres_server.database("first") as first, postgres_server.database("second") as second:
        with psycopg.connect(first, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (x int)")
        with psycopg.connect(second, autocommit=True) as conn, pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT * FROM t")
        name = psycopg.conninfo.conninfo_to_dict(first)["dbname"]
    with psycopg.connect(postgres_server.admin_dsn, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)).fetchone() == (0,)


def test_database_names_are_unique_and_plain() -> None:
    names = {unique_database_name("Test Outbox[1]") for _ in range(50)}
    assert len(names) == 50
    assert all(n.startswith("test_outbox_1__") and n.isascii() and n == n.lower() for n in names)
