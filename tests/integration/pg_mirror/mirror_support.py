"""Helpers of the mirror tests: the mirror as a subprocess, the table as Python, waiting."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

from connectors.pg_mirror.columns import dumps
from govbus.platform import processes, restarts
from govbus.platform.postgres import PrivateCluster


@dataclass
class MirrorProcess:
    pid: int
    log_path: Path
    metrics_port: int

    def alive(self) -> bool:
        return processes.is_alive(self.pid)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the samples of ``name`` whose labels include ``labels``."""
        text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text
        total = 0.0
        for line in text.splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            sample_labels, value = line.rsplit(" ", 1)
            if all(f'{k}="{v}"' in sample_labels for k, v in labels.items()):
                total += float(value)
        return total

    def stop(self) -> None:
        processes.stop_process(self.pid, timeout=15)


def start_mirror(env: dict[str, str], log_path: Path) -> MirrorProcess:
    metrics_port = processes.free_port()
    pid = processes.start_process([sys.executable, "-m", "connectors.pg_mirror"], log_path,
                                  env={**env, "GOVBUS_MIRROR_METRICS_PORT": str(metrics_port),
                                       "GOVBUS_MIRROR_RETRY_MAX_SECONDS": "2", "GOVBUS_MIRROR_LAG_INTERVAL": "1"})
    return MirrorProcess(pid, log_path, metrics_port)


def table_rows(dsn: str, table: str) -> list[dict[str, Any]]:
    """Every row of ``table`` as a dict (an empty list while the table does not exist)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
        if not exists or not exists[0]:
            return []
        cursor = conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table)))
        names = [d.name for d in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def table_columns(dsn: str, table: str) -> dict[str, tuple[str, bool, str | None]]:
    """Column -> (udt name, nullable, default expression)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute("SELECT column_name, udt_name, is_nullable = 'YES', column_default "
                            "FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
                            (table,)).fetchall()
    return {name: (udt, nullable, default) for name, udt, nullable, default in rows}


def as_rows(expected: dict[str, dict[str, Any]], jsonb: set[str]) -> dict[str, dict[str, Any]]:
    """Records as the table should hold them: jsonb columns through JSON (dates as ISO text)."""
    return {key: {name: (json.loads(dumps(value)) if name in jsonb and value is not None else value)
                  for name, value in record.items()} for key, record in expected.items()}


def keyed_rows(rows: list[dict[str, Any]], key_fields: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    return {"|".join(str(row[k]) for k in key_fields): row for row in rows}


def wait_for(condition: Callable[[], bool], timeout: float, what: str,
             mirror: MirrorProcess | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if mirror is not None and not mirror.alive():
            raise AssertionError(f"the mirror exited while waiting for {what}:\n{mirror.log()[-3000:]}")
        time.sleep(0.3)
    tail = mirror.log()[-3000:] if mirror else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{tail}")


def restart_cluster(cluster: PrivateCluster, down_seconds: float) -> None:
    """Stop the cluster as a crash would (``pg_ctl stop -m immediate``), wait, start it again with the
    same data directory, port and options."""
    restarts.crash_postgres(cluster)
    time.sleep(down_seconds)
    restarts.start_postgres(cluster)
