"""PostgreSQL mirror rate against a plain psycopg loop inserting the same rows, measured in the same run.

    .venv/bin/python -m bench.bench_pg_mirror [--events 20000] [--batch-size 2000] [--rounds 3] [--fsync-off]

- events: N canonical UPSERT events of distinct enterprise registrations, written once to a
  3-partition topic before anything is timed;
- baseline: the same N records (decoded beforehand, bound values ready) inserted into an empty
  table of the same shape with ``executemany`` in batches of ``--batch-size``, one commit per batch;
- mirror: a fresh mirror (new database, new consumer group) in this process, from its start until
  its upserted-rows counter reaches N: joining the group, consuming, decoding, the table's creation,
  upserts (``INSERT ... ON CONFLICT DO UPDATE``) in one transaction per batch, offset commits.
  Also printed: the rate from its first committed batch on (the group join left out).
Starts and stops (by PID) what it needs: a local Kafka broker and a registry (unless
GOVBUS_KAFKA__BOOTSTRAP / GOVBUS_REGISTRY__URL are set), and a private PostgreSQL cluster (fsync on,
unless --fsync-off; or GOVBUS_TEST_POSTGRES_DSN).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import threading
import time
import uuid
from typing import Any

import psycopg
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from bench._platform import platform
from bench._report import spread
from connectors.pg_mirror.columns import adapt, columns_of
from connectors.pg_mirror.connector import MirrorConnector
from connectors.pg_mirror.metrics import MirrorMetrics
from connectors.pg_mirror.settings import MirrorSettings
from connectors.pg_mirror.table import TableName, create
from govbus import clients
from govbus.catalogue_topics import sync_topics
from govbus.platform.postgres import PostgresServer, session_postgres, unique_database_name
from govbus.serde import WireDecoder
from govbus.topic_names import canonical_topic
from govbus.topic_reader import read_topic
from schemas.catalogue import load_catalogue
from testsupport.canonical import CanonicalWriter, change_scenario
from testsupport.connections import kafka_at, registry_at

ITEM = "enterprise_registration"
TABLE = "bench_mirror"


def decoded_records(bootstrap: str, registry_url: str, topic: str) -> list[dict[str, Any]]:
    decoder = WireDecoder(clients.registry_client(registry_at(registry_url)))
    return [decoder.decode(m.value()).value["record"] for m in read_topic(kafka_at(bootstrap), topic, timeout=120)]


def run_baseline(dsn: str, records: list[dict[str, Any]], batch_size: int) -> float:
    item = load_catalogue().get(ITEM)
    columns = columns_of(item.record_schema)
    names = [c.name for c in columns]
    rows = [[adapt(record.get(c.name), c.pg_type) for c in columns] for record in records]
    insert = psycopg.sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        psycopg.sql.Identifier(TABLE), psycopg.sql.SQL(", ").join(map(psycopg.sql.Identifier, names)),
        psycopg.sql.SQL(", ").join(psycopg.sql.Placeholder() * len(names)))
    with psycopg.connect(dsn) as conn:
        for statement in create(TableName(TABLE), columns, item.key_fields).statements:
            conn.execute(statement)
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cursor:
            for at in range(0, len(rows), batch_size):
                cursor.executemany(insert, rows[at:at + batch_size])
                conn.commit()
        elapsed = time.perf_counter() - started
        count = conn.execute(psycopg.sql.SQL("SELECT count(*) FROM {}").format(psycopg.sql.Identifier(TABLE)))
        assert count.fetchone() == (len(records),)
    return elapsed


def run_mirror(dsn: str, bootstrap: str, registry_url: str, prefix: str, events: int,
               batch_size: int) -> tuple[float, float]:
    """(seconds from start, events/s from the first committed batch on)."""
    settings = MirrorSettings(kafka=kafka_at(bootstrap), registry=registry_at(registry_url), topic_prefix=prefix,
                              mirror_item=ITEM, mirror_dsn=SecretStr(dsn), mirror_table=TABLE,
                              mirror_group=f"bench-{uuid.uuid4().hex}", mirror_batch_size=batch_size,
                              mirror_lag_interval=0)
    registry = CollectorRegistry()
    connector = MirrorConnector(settings, MirrorMetrics(registry, "bench"))
    thread = threading.Thread(target=connector.run, daemon=True)
    labels = {"mirror": "bench", "table": TABLE}
    started = time.perf_counter()
    thread.start()
    first: tuple[float, float] | None = None
    while (done := registry.get_sample_value("govbus_mirror_rows_upserted_total", labels) or 0) < events:
        if not thread.is_alive():
            raise RuntimeError("the mirror stopped before writing every event")
        if first is None and done:
            first = (time.perf_counter(), done)
        time.sleep(0.005)
    elapsed = time.perf_counter() - started
    connector.stop()
    thread.join(60)
    assert first is not None
    steady = (events - first[1]) / max(started + elapsed - first[0], 1e-9)
    return elapsed, steady


def measure(server: PostgresServer, bootstrap: str, registry_url: str, events: int, batch_size: int,
            rounds: int) -> None:
    item = load_catalogue().get(ITEM)
    prefix = f"govbus.bench-{uuid.uuid4().hex[:6]}"
    sync_topics(kafka_at(bootstrap), [item], prefix, partitions=3)
    topic = canonical_topic(ITEM, prefix)
    CanonicalWriter(bootstrap, registry_url, item, topic).write(change_scenario(item, keys=events, seed=7))
    records = decoded_records(bootstrap, registry_url, topic)
    print(f"{events:,} enterprise-registration UPSERT events (distinct keys), 3 partitions, batch size {batch_size}; "
          f"{rounds} interleaved rounds, medians; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    rates: dict[str, list[float]] = {"baseline": [], "mirror": [], "steady": []}
    for _ in range(rounds):
        for run in ("baseline", "mirror"):
            name = unique_database_name(f"bench_{run}")
            dsn = server.create_database(name)
            try:
                if run == "baseline":
                    rates["baseline"].append(events / run_baseline(dsn, records, batch_size))
                else:
                    elapsed, steady = run_mirror(dsn, bootstrap, registry_url, prefix, events, batch_size)
                    rates["mirror"].append(events / elapsed)
                    rates["steady"].append(steady)
            finally:
                server.drop_database(name)
            gc.collect()
    baseline = statistics.median(rates["baseline"])
    print(f"  {'baseline: psycopg executemany INSERT, commit per batch':<62} {baseline:>9,.0f} rows/s  "
          f"{spread(rates['baseline'])}")
    for run, label in (("mirror", "mirror, from its start (group join included)"),
                       ("steady", "mirror, from its first committed batch")):
        rate = statistics.median(rates[run])
        print(f"  {label:<62} {rate:>9,.0f} events/s  {spread(rates[run])}  "
              f"ratio mirror / baseline: {rate / baseline:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fsync-off", action="store_true", help="run the private cluster with fsync=off")
    args = parser.parse_args()
    with platform() as (bootstrap, registry_url), session_postgres(durable=not args.fsync_off) as server:
        measure(server, bootstrap, registry_url, args.events, args.batch_size, args.rounds)


if __name__ == "__main__":
    os.environ.setdefault("GOVBUS_LOG_LEVEL", "WARNING")
    main()
