"""What stateful subscribers hold at the end of a run, saved before the run stops them: the public feed's pages,
the mirror's tables, and the outbox's rejected rows (the outbox connector refuses invalid rows there)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from connectors.outbox.position import PositionStore
from connectors.outbox.reader import count_waiting


def save_feed(feed_url: str, out: Path) -> int:
    """Every entry of every page of the feed, as served; how many."""
    entries: list[dict[str, Any]] = []
    page = 1
    with httpx.Client(timeout=30) as http:
        while True:
            body = http.get(f"{feed_url}/feed", params={"page": page, "per_page": 500}).json()
            entries.extend(body.get("entries", []))
            if page >= int(body.get("pages") or 1):
                break
            page += 1
    _write(out, entries)
    return len(entries)


def save_mirror(dsn: str, table_prefix: str, out: Path) -> int:
    """Every row of every table of the mirror (tables named ``<table_prefix><item>``); rows saved."""
    tables: dict[str, list[dict[str, Any]]] = {}
    with psycopg.connect(dsn, row_factory=dict_row) as connection:
        names = [row["table_name"] for row in connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE %s",
            (table_prefix + "%",))]
        for name in names:
            rows = connection.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(name))).fetchall()
            tables[name[len(table_prefix):]] = [json.loads(json.dumps(row, default=str)) for row in rows]
    _write(out, tables)
    return sum(len(rows) for rows in tables.values())


def save_outbox(dsn: str, out: Path) -> tuple[int, int]:
    """(rows written, rows the connector refused): the refused rows' event ids and reasons are saved."""
    with psycopg.connect(dsn, row_factory=dict_row) as connection:
        written = connection.execute("SELECT count(*) AS n FROM govbus_outbox").fetchone()
        refused = connection.execute("SELECT event_id::text AS event_id, field, rule FROM govbus_outbox_rejected"
                                     ).fetchall()
    _write(out, {"rows": written["n"] if written else 0, "refused": refused})
    return (written["n"] if written else 0), len(refused)


def outbox_pending(dsn: str, connector: str) -> int:
    """Committed rows of the outbox after ``connector``'s stored position: rows it has neither published nor
    refused yet (-1 if the database does not answer). The position is a ``(txid, id)`` pair, and concurrent
    department transactions commit ids out of order, so a row may wait below the position's id."""
    try:
        with psycopg.connect(dsn, connect_timeout=5, autocommit=True) as connection:
            position = PositionStore(connection, connector).load().position
            return count_waiting(connection, position).total
    except psycopg.Error:
        return -1


def _write(out: Path, value: Any) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(value, ensure_ascii=False, default=str), encoding="utf-8")
