"""Natural resources' registration database writes an outbox row in each business transaction;
the outbox connector publishes the rows in commit order."""

from __future__ import annotations

import json
import time
from typing import Any

import psycopg

from connectors.outbox.migrate import migrate_dsn
from govbus.demo.context import DemoContext
from govbus.demo.results import PathResult, jsonable
from govbus.demo.synthetic_items import records_for
from govbus.identities import principal_key
from govbus.platform.components import start_component
from govbus.platform.postgres import session_postgres, unique_database_name
from govbus.topic_names import department_topic
from govbus.topic_reader import read_topic
from schemas.catalogue import load_catalogue

ITEM = "real_estate_registration"
DEPARTMENT = "natural-resources"


def via_outbox(context: DemoContext, count: int = 240, per_transaction: int = 12) -> PathResult:

    result = PathResult(DEPARTMENT, "PostgreSQL outbox", ITEM)
    records = [jsonable(s.record) for s in records_for(load_catalogue().get(ITEM), count, context.invalid_share,
                                                       seed=14)]
    with context.console.status("starting PostgreSQL (the first run installs Debian's package)..."), \
            session_postgres() as server:
        database = unique_database_name("land_registry")
        dsn = server.create_database(database)
        migrate_dsn(dsn)
        _write_in_transactions(dsn, records, per_transaction)
        result.sent = len(records)
        env = {**context.env(principal_key("department", DEPARTMENT)), "GOVBUS_OUTBOX_DSN": dsn,
               "GOVBUS_OUTBOX_DEPARTMENT": DEPARTMENT,
               "GOVBUS_OUTBOX_SOURCE_SYSTEM": "real-estate-registry", "GOVBUS_OUTBOX_NAME": f"demo-{context.run}"}
        connector = start_component("outbox connector", "connectors.outbox", env, context.logs / "outbox.log")
        try:
            _wait_until_done(context, dsn, len(records), connector.alive)
        finally:
            connector.stop()
        result.accepted = len(read_topic(context.kafka, department_topic(DEPARTMENT, ITEM, context.prefix)))
        for field, rule, reason in _rejections(dsn):
            result.reject(field, rule, reason)
    result.note = f"rows committed in {len(records) // per_transaction} transactions of {per_transaction}"
    return result


def _write_in_transactions(dsn: str, records: list[dict[str, Any]], per_transaction: int) -> None:
    """What the department's application does: its change and the outbox row, in one transaction."""
    with psycopg.connect(dsn) as connection:
        for start in range(0, len(records), per_transaction):
            with connection.transaction():
                for record in records[start:start + per_transaction]:
                    connection.execute("INSERT INTO govbus_outbox (data_item, record) VALUES (%s, %s::jsonb)",
                                       (ITEM, json.dumps(record, ensure_ascii=False)))


def _wait_until_done(context: DemoContext, dsn: str, rows: int, alive: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    topic = department_topic(DEPARTMENT, ITEM, context.prefix)
    while time.monotonic() < deadline and alive():
        if len(read_topic(context.kafka, topic)) + len(_rejections(dsn)) >= rows:
            return
        time.sleep(0.5)
    context.console.print("[yellow]the outbox connector did not finish in time; see outbox.log[/]")


def _rejections(dsn: str) -> list[tuple[str, str, str]]:
    with psycopg.connect(dsn) as connection:
        return [(f, r, reason) for f, r, reason in
                connection.execute("SELECT field, rule, reason FROM govbus_outbox_rejected ORDER BY outbox_id")]
