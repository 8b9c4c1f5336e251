"""`govbus audit who-received` from the audit index with 1,000,000 audit records, against baselines of the same run.

    .venv/bin/python -m bench.bench_audit_index [--records 1000000] [--lookups 2000] [--rounds 3]
        [--scan-records 100000]

- load: N synthetic audit records (20 subscribers, 80 subscriptions, 6 items, 200,000 record keys: 5 outcomes per
  key on average, 90 % delivered) written to an empty index with the indexer's own write
  (``AuditIndex.write``: COPY and the progress row in one transaction), batches of 5,000 as
  ``govbus run audit-indexer`` writes them; timed once (records/s, and the index's size);
- index: per round, ``--lookups`` who-received lookups of random keys (1 in 10 absent) through
  ``AuditIndex.who_received``, the query and the parsing of the records ``govbus audit who-received`` does:
  p50 and p99 milliseconds;
- baseline (floor): as many primary-key lookups ``SELECT 1 ... WHERE (topic, partition, offset) = ...`` on the
  same connection, in the same round: the round trip no index can beat; printed as the ratio index / floor;
- the command: ``govbus audit who-received ITEM KEY --json`` as a process (5 per round), Python's start-up and the
  connection included, against ``govbus audit who-received --help`` (the CLI's start-up alone);
- before: what ``who-received`` did once it had read the whole topic, the Python filter over records in memory
  (``govbus.audit.who_received``), over ``--scan-records`` records (holding 1,000,000 would take about 1.5 GB),
  and that time scaled to N (the read of the topic itself, which then took minutes, not counted).

Starts and stops (by PID) a private PostgreSQL cluster with fsync off (or uses GOVBUS_TEST_POSTGRES_DSN).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator

import psycopg

from bench._report import quantile, spread
from connectors.audit_index.store import AuditIndex, Indexed
from govbus.audit import who_received
from govbus.audit_record import AuditRecord, Outcome
from govbus.platform.postgres import PostgresServer, session_postgres, unique_database_name

TOPIC = "govbus.audit.deliveries"
ITEMS = ("enterprise_registration", "tax_payment_certificate", "credit_record", "identity_verification",
         "degree_certification", "real_estate_registration")
KEYS = 200_000
BATCH = 5_000
PARTITIONS = 3
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
FLOOR = "SELECT 1 FROM govbus_audit_index WHERE topic = %s AND kafka_partition = %s AND kafka_offset = %s"


def _key(n: int) -> tuple[str, str]:
    return ITEMS[n % len(ITEMS)], f"91{n:016d}"


def synthetic(count: int, seed: int = 7) -> Iterator[Indexed]:
    """``count`` audit records at increasing offsets of 3 partitions, over ``KEYS`` record keys."""
    rng = random.Random(seed)
    outcomes = [Outcome.DELIVERED] * 18 + [Outcome.PARKED, Outcome.REFUSED]
    for n in range(count):
        item, key = _key(rng.randrange(KEYS))
        subscription = rng.randrange(80)
        outcome = rng.choice(outcomes)
        record = AuditRecord.model_construct(
            at=START + dt.timedelta(milliseconds=n * 50), subscriber=f"centre-{subscription % 20}",
            subscription=f"sub-{subscription}", connector="webhook", item=item, record_key=key,
            event_id=f"{rng.getrandbits(128):032x}", operation="UPSERT", outcome=outcome,
            fields_delivered=["uscc", "name", "status"] if outcome is Outcome.DELIVERED else [],
            fields_masked=["name"] if outcome is Outcome.DELIVERED else [], grant_id=f"grant-{subscription}",
            attempts=1, reason=None if outcome is Outcome.DELIVERED else "synthetic", link=None)
        yield Indexed(n % PARTITIONS, n // PARTITIONS, record)


def load(index: AuditIndex, count: int) -> float:
    """Write ``count`` records in batches of ``BATCH``; seconds."""
    started = time.perf_counter()
    batch: list[Indexed] = []
    for indexed in synthetic(count):
        batch.append(indexed)
        if len(batch) == BATCH:
            index.write(batch)
            batch = []
    if batch:
        index.write(batch)
    return time.perf_counter() - started


def lookups(index: AuditIndex, dsn: str, count: int, rng: random.Random, records: int) -> tuple[list[float], ...]:
    """(who-received milliseconds, floor milliseconds, rows found per lookup), sorted."""
    index_ms, floor_ms, rows = [], [], []
    with psycopg.connect(dsn, autocommit=True) as connection:
        for _ in range(count):
            n = rng.randrange(KEYS * 10 // 9)  # 1 in 10 absent
            item, key = _key(n)
            started = time.perf_counter()
            found = index.who_received(item, key, tuple(Outcome))
            index_ms.append((time.perf_counter() - started) * 1000)
            rows.append(float(len(found)))
            where = rng.randrange(records)
            started = time.perf_counter()
            connection.execute(FLOOR, (TOPIC, where % PARTITIONS, where // PARTITIONS)).fetchall()
            floor_ms.append((time.perf_counter() - started) * 1000)
    return sorted(index_ms), sorted(floor_ms), rows


def command_seconds(dsn: str, argv: list[str], runs: int) -> list[float]:
    env = {**os.environ, "GOVBUS_AUDIT_INDEX_DSN": dsn, "GOVBUS_TOPIC_PREFIX": TOPIC.rsplit(".audit.", 1)[0]}
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "govbus.cli", *argv], env=env, capture_output=True, check=False)
        seconds.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise RuntimeError(f"{argv} failed: {done.stderr.decode()[-500:]}")
    return seconds


def scan_seconds(count: int, tries: int, rng: random.Random) -> float:
    """Median seconds of the former in-memory filter over ``count`` records."""
    records = [indexed.record for indexed in synthetic(count, seed=11)]
    times = []
    for _ in range(tries):
        item, key = _key(rng.randrange(KEYS))
        started = time.perf_counter()
        who_received(records, item, key, tuple(Outcome))
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(server: PostgresServer, records: int, count: int, rounds: int, scan_records: int) -> None:
    name = unique_database_name("bench_audit_index")
    dsn = server.create_database(name)
    index = AuditIndex(dsn, TOPIC)
    try:
        index.create()
        loaded = load(index, records)
        with psycopg.connect(dsn) as connection:
            size = connection.execute("SELECT pg_total_relation_size('govbus_audit_index')").fetchone()
        mib = int(str(size[0])) / 2**20 if size else 0.0
        print(f"{records:,} audit records over {KEYS:,} record keys loaded in {loaded:.1f} s "
              f"({records / loaded:,.0f} records/s, batches of {BATCH:,}); table and indexes {mib:,.0f} MiB; "
              f"{rounds} rounds of {count:,} lookups; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        rng = random.Random(5)
        p50: dict[str, list[float]] = {"index": [], "floor": [], "command": [], "startup": []}
        p99: dict[str, list[float]] = {"index": [], "floor": []}
        found: list[float] = []
        item, key = _key(42)
        for _ in range(rounds):
            index_ms, floor_ms, rows = lookups(index, dsn, count, rng, records)
            found += rows
            for run, values in (("index", index_ms), ("floor", floor_ms)):
                p50[run].append(quantile(values, 0.5))
                p99[run].append(quantile(values, 0.99))
            p50["command"].append(statistics.median(command_seconds(
                dsn, ["audit", "who-received", item, key, "--all-outcomes", "--json"], 5)) * 1000)
            startup = command_seconds(dsn, ["audit", "who-received", "--help"], 5)
            p50["startup"].append(statistics.median(startup) * 1000)
            gc.collect()
        floor50, floor99 = statistics.median(p50["floor"]), statistics.median(p99["floor"])
        print(f"  {'baseline (floor): primary-key lookup, same connection':<58} p50 {floor50:6.2f} ms "
              f"{spread(p50['floor'], '.2f')}  p99 {floor99:6.2f} ms {spread(p99['floor'], '.2f')}")
        index50, index99 = statistics.median(p50["index"]), statistics.median(p99["index"])
        print(f"  {'who-received from the index (query + records parsed)':<58} p50 {index50:6.2f} ms "
              f"{spread(p50['index'], '.2f')}  p99 {index99:6.2f} ms {spread(p99['index'], '.2f')}  "
              f"ratio index / floor: p50 {index50 / floor50:.1f}, p99 {index99 / floor99:.1f}; "
              f"{statistics.mean(found):.1f} records per answer")
        command, startup = statistics.median(p50["command"]), statistics.median(p50["startup"])
        print(f"  {'`govbus audit who-received ... --json`, a process':<58} p50 {command:6.0f} ms "
              f"{spread(p50['command'])}  (the CLI's start-up alone, --help: {startup:.0f} ms "
              f"{spread(p50['startup'])})")
        scan = scan_seconds(scan_records, 5, rng)
        print(f"  {'before: in-memory filter of records already read':<58} {scan * 1000:8.1f} ms over "
              f"{scan_records:,} records, {scan * records / scan_records * 1000:,.0f} ms scaled to {records:,} "
              f"(reading the topic not counted); ratio scaled filter / index p50: "
              f"{scan * records / scan_records * 1000 / index50:,.0f}")
    finally:
        index.close()
        server.drop_database(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scan-records", type=int, default=100_000)
    args = parser.parse_args()
    with session_postgres() as server:
        measure(server, args.records, args.lookups, args.rounds, args.scan_records)


if __name__ == "__main__":
    os.environ.setdefault("GOVBUS_LOG_LEVEL", "WARNING")
    main()
