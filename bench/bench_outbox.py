"""Outbox connector rate against the Publisher alone, measured in the same run on the same records.

    .venv/bin/python -m bench.bench_outbox [--rows 20000] [--batch-size 500] [--rounds 3] [--fsync-off]

- baseline: the govbus Publisher publishing the N records (as they come out of jsonb) and one flush;
- connector: N rows already committed in ``govbus_outbox``; the time from the connector's start until
  its stored position reaches the last row: reading, validating, publishing with the row's event id,
  a flush per batch and a committed position per batch. Run twice: rows that carry their
  ``record_key`` (checked against the record: a second validation) and rows that leave it NULL.
Starts and stops (by PID) what it needs: a local Kafka broker and a registry (unless
GOVBUS_KAFKA__BOOTSTRAP / GOVBUS_REGISTRY__URL are set), and a private PostgreSQL cluster (fsync on,
unless --fsync-off; or GOVBUS_TEST_POSTGRES_DSN).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import threading
import time
import uuid
from typing import Any

import psycopg
from pydantic import SecretStr

from bench._platform import platform
from bench._report import spread
from connectors.outbox.connector import OutboxConnector
from connectors.outbox.migrate import migrate
from connectors.outbox.position import PositionStore
from connectors.outbox.reader import Position
from connectors.outbox.settings import OutboxSettings
from govbus.catalogue_topics import sync_topics
from govbus.demo.synthetic import enterprise_registrations
from govbus.platform.postgres import PostgresServer, session_postgres, unique_database_name
from govbus.publisher import Publisher, PublisherSettings
from schemas.catalogue import load_catalogue
from testsupport.connections import kafka_at, registry_at

ITEM = "enterprise_registration"
DEPARTMENT = "market-regulation"


def json_records(count: int) -> list[dict[str, Any]]:
    """The records as the connector gets them back from jsonb (dates as ISO strings)."""
    return [json.loads(json.dumps(s.record, default=str)) for s in enterprise_registrations(count, 0.0, seed=7)]


def fill_outbox(dsn: str, records: list[dict[str, Any]], with_key: bool) -> Position:
    """Migrate ``dsn`` and COPY the records into the outbox in one transaction; the last row's position."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn)
    with psycopg.connect(dsn) as conn:
        copy_sql = "COPY govbus_outbox (data_item, record_key, record) FROM STDIN"
        with conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for record in records:
                copy.write_row((ITEM, record["uscc"] if with_key else None, json.dumps(record, ensure_ascii=False)))
        conn.commit()
        found = conn.execute("SELECT txid::text, max(id) FROM govbus_outbox GROUP BY txid").fetchone()
    assert found is not None
    return Position(int(found[0]), int(found[1]))


def run_publisher(records: list[dict[str, Any]], settings: PublisherSettings) -> float:
    started = time.perf_counter()
    with Publisher(DEPARTMENT, "bench", settings=settings) as publisher:
        for record in records:
            publisher.publish(ITEM, record)
        report = publisher.flush(120)
    elapsed = time.perf_counter() - started
    assert not report.failures, report.failures
    return elapsed


def run_connector(settings: OutboxSettings, last: Position) -> float:
    connector = OutboxConnector(settings)
    thread = threading.Thread(target=connector.run, daemon=True)
    started = time.perf_counter()
    thread.start()
    with psycopg.connect(settings.outbox_dsn.get_secret_value(), autocommit=True) as conn:
        store = PositionStore(conn, settings.outbox_name)
        while store.load().position != last:
            if not thread.is_alive():
                raise RuntimeError("the connector stopped before reaching the last row")
            time.sleep(0.01)
    elapsed = time.perf_counter() - started
    connector.stop()
    thread.join(60)
    return elapsed


def connector_settings(dsn: str, bootstrap: str, registry_url: str, prefix: str, batch_size: int) -> OutboxSettings:
    return OutboxSettings(
        outbox_dsn=SecretStr(dsn), outbox_department=DEPARTMENT, outbox_source_system="bench",
        outbox_name="bench", outbox_batch_size=batch_size, outbox_poll_interval=0.01,
        kafka=kafka_at(bootstrap), registry=registry_at(registry_url), topic_prefix=prefix,
    )


def measure(server: PostgresServer, bootstrap: str, registry_url: str, rows: int, batch_size: int,
            rounds: int) -> None:
    records = json_records(rows)
    item = load_catalogue().get(ITEM)
    prefixes = {run: f"govbus.bench-{run}-{uuid.uuid4().hex[:6]}" for run in ("publisher", "keyed", "unkeyed")}
    for prefix in prefixes.values():
        sync_topics(kafka_at(bootstrap), [item], prefix, partitions=3)
    print(f"{rows:,} enterprise-registration rows, batch size {batch_size}, acks=all, idempotence on, "
          f"3 partitions; {rounds} interleaved rounds, medians; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    publisher_settings = PublisherSettings(kafka=kafka_at(bootstrap), registry=registry_at(registry_url),
                                           topic_prefix=prefixes["publisher"])
    databases = {run: unique_database_name(f"bench_{run}") for run in ("keyed", "unkeyed")}
    rates: dict[str, list[float]] = {"publisher": [], "keyed": [], "unkeyed": []}
    try:
        lasts = {run: fill_outbox(server.create_database(name), records, run == "keyed")
                 for run, name in databases.items()}
        for _ in range(rounds):
            rates["publisher"].append(rows / run_publisher(records, publisher_settings))
            gc.collect()  # drop the run's producers now, not after the broker has stopped
            for run, name in databases.items():
                dsn = server.dsn(name)
                with psycopg.connect(dsn, autocommit=True) as conn:  # start from the first row again
                    conn.execute("DELETE FROM govbus_outbox_position")
                settings = connector_settings(dsn, bootstrap, registry_url, prefixes[run], batch_size)
                rates[run].append(rows / run_connector(settings, lasts[run]))
                gc.collect()
    finally:
        for name in databases.values():
            server.drop_database(name)
    baseline = statistics.median(rates["publisher"])
    label = "baseline: Publisher alone (validate, publish, flush)"
    print(f"  {label:<58} {baseline:>9,.0f} rows/s  {spread(rates['publisher'])}")
    for run, label in (("keyed", "record_key given (checked)"), ("unkeyed", "record_key NULL (derived)")):
        rate = statistics.median(rates[run])
        print(f"  {'outbox connector, ' + label:<58} {rate:>9,.0f} rows/s  {spread(rates[run])}  "
              f"ratio connector / baseline: {rate / baseline:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fsync-off", action="store_true", help="run the private cluster with fsync=off")
    args = parser.parse_args()
    with platform() as (bootstrap, registry_url), session_postgres(durable=not args.fsync_off) as server:
        measure(server, bootstrap, registry_url, args.rows, args.batch_size, args.rounds)


if __name__ == "__main__":
    os.environ.setdefault("GOVBUS_LOG_LEVEL", "WARNING")
    main()
