"""HTTP ingest gateway rate for batches of 500 records, against the Publisher alone in the same run.

    .venv/bin/python -m bench.bench_gateway [--records 20000] [--batch 500]

Both publish the same enterprise-registration records (validated, acks=all); the gateway adds
HTTP, JSON parsing and per-record results. The gateway runs as its own process; one client
sends batches one after another.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench._platform import platform
from connectors.ingest_gateway.keys import add_key
from govbus.catalogue_topics import sync_topics
from govbus.demo.synthetic import enterprise_registrations
from govbus.platform import processes
from govbus.publisher import Publisher, PublisherSettings
from schemas.catalogue import load_catalogue
from testsupport.connections import kafka_at, registry_at

ITEM = "enterprise_registration"


def _json_record(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in record.items()}


def run_publisher(settings: PublisherSettings, records: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    with Publisher("market-regulation", "bench", settings=settings) as publisher:
        for record in records:
            publisher.publish(ITEM, record)
    return len(records) / (time.perf_counter() - started)


def run_gateway(url: str, key: str, records: list[dict[str, Any]], batch: int) -> float:
    bodies = ["\n".join(json.dumps(_json_record(r), ensure_ascii=False) for r in records[i:i + batch]).encode()
              for i in range(0, len(records), batch)]
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}
    accepted = 0
    started = time.perf_counter()
    with httpx.Client(timeout=120) as client:
        for body in bodies:
            response = client.post(f"{url}/v1/items/{ITEM}/records", content=body, headers=headers)
            accepted += response.json()["accepted"]
    elapsed = time.perf_counter() - started
    if accepted != len(records):
        sys.exit(f"the gateway accepted {accepted} of {len(records)} records")
    return len(records) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    records = [s.record for s in enterprise_registrations(args.records, invalid_share=0.0, seed=2)]
    with platform() as (bootstrap, registry_url):
        prefix = f"govbus.bench-{uuid.uuid4().hex[:6]}"
        sync_topics(kafka_at(bootstrap), [load_catalogue().get(ITEM)], prefix, partitions=3)
        settings = PublisherSettings(kafka=kafka_at(bootstrap), registry=registry_at(registry_url), topic_prefix=prefix)
        work = Path(tempfile.mkdtemp(prefix="govbus-bench-gateway-"))
        key = add_key(work / "keys.json", "market-regulation", "bench")
        port = processes.free_port()
        env = {"GOVBUS_KAFKA__BOOTSTRAP": bootstrap, "GOVBUS_REGISTRY__URL": registry_url,
               "GOVBUS_TOPIC_PREFIX": prefix, "GOVBUS_GATEWAY_PORT": str(port),
               "GOVBUS_GATEWAY_KEYS_FILE": str(work / "keys.json")}
        pid = processes.start_process([sys.executable, "-m", "connectors.ingest_gateway"], work / "gateway.log", env)
        url = f"http://127.0.0.1:{port}"
        try:
            processes.wait_until(lambda: _healthy(url), 60, "gateway", alive=lambda: processes.is_alive(pid))
            print(f"{args.records:,} enterprise-registration records, batches of {args.batch}, acks=all")
            run_gateway(url, key, records[:args.batch], args.batch)  # warm-up: schema registration, connections
            publisher_rate = run_publisher(settings, records)
            gateway_rate = run_gateway(url, key, records, args.batch)
        finally:
            processes.stop_process(pid)
    print(f"  Publisher alone (baseline)      {publisher_rate:>10,.0f} records/s")
    print(f"  HTTP gateway, batches of {args.batch:<5}  {gateway_rate:>10,.0f} records/s")
    print(f"ratio gateway / Publisher: {gateway_rate / publisher_rate:.2f}")


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
