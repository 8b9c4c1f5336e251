"""Webhook connector: delivery rate against a plain httpx loop, and publish-to-delivery latency at a fixed rate.

    .venv/bin/python -m bench.bench_webhook [--events 20000] [--batch-size 200] [--rate 2000] [--seconds 10]

1. **Rate.** N enterprise-registration change events wait on a 3-partition canonical topic. The
   connector (its own process, as deployed) reads, decodes, authorises, filters, shapes and masks
   them, POSTs signed batches (Standard Webhooks, verified by the receiver with the standardwebhooks
   library), writes one audit record per event (acknowledged) and commits per
   batch. Baselines in the same run, against the same receiver: a plain loop POSTing the same
   events, already shaped and serialised in memory, with httpx, in batches of the same size, and one
   event per request (nothing read from Kafka, nothing signed, verified, audited or committed).
2. **Latency.** A producer configured as the Publisher (acks=all, idempotence, linger 5 ms, lz4)
   writes canonical events at a fixed rate for a fixed time, stamping ``published_at``; the receiver
   (its own process) records arrival minus ``published_at`` per event. p50 / p90 / p99 / max, after 3 s
   at the same rate that are not measured. Baseline in the same run: Kafka alone, a plain consumer
   process reading the same topic at the same rate.

Starts and stops (by PID) what it needs: a broker and a registry unless GOVBUS_KAFKA__BOOTSTRAP /
GOVBUS_REGISTRY__URL are set, the receiver and the connector.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench._platform import platform
from bench._webhook_receiver import SECRET_ENV
from connectors.webhook.payload import ShapedEvent, batch_body, dumps, shape_event
from connectors.webhook.signing_secrets import new_secret
from govbus import clients
from govbus.demo.synthetic_items import records_for
from govbus.platform import processes
from govbus.serde import WireEncoder
from govbus.sharing.authorisation import authorise
from govbus.sharing.model import Subscription
from govbus.sharing.store import SharingStore
from govbus.topic_names import canonical_topic, value_subject
from govbus.topics import TopicSpec, ensure_topics
from schemas.catalogue import load_catalogue
from testsupport.connections import kafka_at, registry_at

ITEM = "enterprise_registration"
FIELDS = ["uscc", "name", "legal_representative", "status", "division_code", "established_on"]
WARM_UP_SECONDS = 3.0
LOGS = Path(tempfile.mkdtemp(prefix="govbus-bench-webhook-"))


class Canonical:
    """Writes canonical change events as a Publisher would (same producer settings)."""

    def __init__(self, bootstrap: str, registry_url: str, prefix: str) -> None:
        self.item = load_catalogue().get(ITEM)
        self.topic = canonical_topic(ITEM, prefix)
        ensure_topics(kafka_at(bootstrap), [TopicSpec(self.topic, 3)])
        self.encoder = WireEncoder(clients.registry_client(registry_at(registry_url)), value_subject(self.topic),
                                   self.item.event_schema())
        self.producer = clients.producer(kafka_at(bootstrap), {"acks": "all", "enable.idempotence": True,
                                  "linger.ms": 5, "compression.type": "lz4"})

    def event(self, record: dict[str, Any]) -> dict[str, Any]:
        event_id = str(uuid.uuid4())
        now = dt.datetime.now(dt.UTC)
        return {"event_id": event_id, "data_item": ITEM, "department": self.item.department,
                "source_system": "bench", "operation": "UPSERT", "record_key": record["uscc"], "occurred_at": now,
                "published_at": now, "trace_id": event_id.replace("-", ""), "record": record}

    def send(self, event: dict[str, Any]) -> None:
        while True:
            try:
                self.producer.produce(self.topic, key=event["record_key"].encode(), value=self.encoder.encode(event))
                break
            except BufferError:
                self.producer.poll(0.05)
        self.producer.poll(0)

    def flush(self) -> None:
        if self.producer.flush(60):
            sys.exit("the broker did not acknowledge every event")


def subscription(name: str, url: str) -> Subscription:
    return Subscription.model_validate({"name": name, "subscriber": f"{name}-centre",
                                        "items": [{"item": ITEM, "fields": FIELDS}],
                                        "delivery": {"kind": "webhook", "url": url, "secret_env": SECRET_ENV}})


def start_receiver(secret: str) -> tuple[int, str]:
    """The receiver process, verifying with ``secret`` (the connector's)."""
    port = processes.free_port()
    pid = processes.start_process([sys.executable, "-m", "bench._webhook_receiver", str(port)], LOGS / "receiver.log",
                                  env={SECRET_ENV: secret})
    url = f"http://127.0.0.1:{port}"
    processes.wait_until(lambda: _answers(url), 30, "benchmark receiver", lambda: processes.is_alive(pid))
    return pid, url


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/stats", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def stats(url: str, latencies: bool = False) -> dict[str, Any]:
    found: dict[str, Any] = httpx.get(f"{url}/stats", params={"latencies": "1"} if latencies else None,
                                      timeout=30).json()
    return found


def start_connector(name: str, env: dict[str, str], batch_size: int) -> tuple[int, int]:
    port = processes.free_port()
    pid = processes.start_process([sys.executable, "-m", "connectors.webhook"], LOGS / f"{name}.log", env={
        **env, "GOVBUS_WEBHOOK_SUBSCRIPTION": name, "GOVBUS_WEBHOOK_METRICS_PORT": str(port),
        "GOVBUS_WEBHOOK_BATCH_SIZE": str(batch_size),
        "GOVBUS_LOG_LEVEL": os.environ.get("GOVBUS_BENCH_CONNECTOR_LOG_LEVEL", "WARNING")})
    return pid, port


def metric(port: int, name: str) -> float:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return 0.0
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == name)


def wait(condition: Callable[[], bool], timeout: float, what: str, pid: int | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline or (pid is not None and not processes.is_alive(pid)):
            sys.exit(f"gave up waiting for {what} (logs in {LOGS})")
        time.sleep(0.01)


def shaped_events(events: list[dict[str, Any]], sub: Subscription) -> list[ShapedEvent]:
    [plan] = authorise(sub, load_catalogue(), [])
    return [shape_event(e, plan, ("uscc",), None) for e in events]  # uscc is delivered in clear


def plain_loop(url: str, shaped: list[ShapedEvent], batch_size: int) -> float:
    """Events/s of a loop POSTing pre-shaped events, ``batch_size`` per request."""
    httpx.post(f"{url}/reset", timeout=10)
    if batch_size == 1:
        bodies = [dumps(e.body) for e in shaped]
    else:
        bodies = [batch_body("plain", "plain", shaped[i:i + batch_size])[1] for i in range(0, len(shaped), batch_size)]
    started = time.perf_counter()
    with httpx.Client(timeout=30) as client:
        for body in bodies:
            client.post(f"{url}/plain", content=body, headers={"Content-Type": "application/json"}).raise_for_status()
    return len(shaped) / (time.perf_counter() - started)


def connector_rate(url: str, env: dict[str, str], count: int, batch_size: int) -> tuple[float, float]:
    """Events/s of the connector draining ``count`` waiting events (timed from its first delivery), and the
    mean batch size."""
    httpx.post(f"{url}/reset", timeout=10)
    pid, port = start_connector("bench-rate", env, batch_size)
    try:
        wait(lambda: metric(port, "govbus_webhook_delivered_total") > 0, 60, "the first delivery", pid)
        started, first = time.perf_counter(), metric(port, "govbus_webhook_delivered_total")
        wait(lambda: metric(port, "govbus_webhook_delivered_total") >= count, 300, "every event", pid)
        elapsed = time.perf_counter() - started
        batches = metric(port, "govbus_webhook_batches_total")
    finally:
        processes.stop_process(pid)
    received = stats(url)
    if received["unverified"]:
        sys.exit(f"the receiver refused {received['unverified']} requests: their signatures did not verify")
    if received["events"] != count:
        sys.exit("the receiver did not get every event exactly")
    return (count - first) / elapsed, count / max(1.0, batches)


def paced(canonical: Canonical, records: list[dict[str, Any]], rate: int, seconds: float) -> float:
    """Publish ``rate`` events/s for ``seconds`` (each stamped when sent); the rate achieved."""
    total = int(rate * seconds)
    started = time.perf_counter()
    for n in range(total):
        pause = started + n / rate - time.perf_counter()
        if pause > 0.001:
            time.sleep(pause)
        canonical.send(canonical.event(records[n % len(records)]))
    offered = total / (time.perf_counter() - started)
    canonical.flush()
    return offered


def latency(url: str, env: dict[str, str], canonical: Canonical, rate: int, seconds: float,
            batch_size: int) -> dict[str, float]:
    """Publish-to-delivery latency at ``rate`` events/s for ``seconds``."""
    records = [s.record for s in records_for(canonical.item, 2000, 0.0, seed=11)]
    httpx.post(f"{url}/reset", timeout=10)
    pid, port = start_connector("bench-latency", env, batch_size)
    try:
        for record in records[:50]:  # warm up: the group joins, the connection opens
            canonical.send(canonical.event(record))
        canonical.flush()
        wait(lambda: stats(url)["events"] >= 50, 60, "the warm-up events", pid)
        paced(canonical, records, rate, WARM_UP_SECONDS)  # steady state first (the broker's JIT, caches)
        wait(lambda: stats(url)["events"] >= 50 + int(rate * WARM_UP_SECONDS), 60, "the warm-up events", pid)
        httpx.post(f"{url}/reset", timeout=10)
        offered = paced(canonical, records, rate, seconds)
        wait(lambda: stats(url)["events"] >= int(rate * seconds), 120, "every event", pid)
        batches = metric(port, "govbus_webhook_batches_total")
    finally:
        processes.stop_process(pid)
    report = stats(url, latencies=True)
    if os.environ.get("GOVBUS_BENCH_TIMELINE"):
        timeline(report["published"], report["latencies_ms"])
    return {**summary(report["latencies_ms"]), "offered": offered, "batches": batches}


def kafka_alone(bootstrap: str, canonical: Canonical, rate: int, seconds: float) -> dict[str, float]:
    """Publish-to-read latency of a plain consumer process on the same topic at the same rate."""
    records = [s.record for s in records_for(canonical.item, 2000, 0.0, seed=12)]
    total = int(rate * seconds)
    warm = 50 + int(rate * WARM_UP_SECONDS)
    probe = subprocess.Popen([sys.executable, "-m", "bench._kafka_probe", bootstrap, canonical.topic,
                              str(total + warm), str(seconds + 120)], stdout=subprocess.PIPE, text=True)
    try:
        assert probe.stdout is not None
        probe.stdout.readline()  # "ready"
        for record in records[:50]:
            canonical.send(canonical.event(record))
        canonical.flush()
        paced(canonical, records, rate, WARM_UP_SECONDS)
        offered = paced(canonical, records, rate, seconds)
        found = json.loads(probe.stdout.readline())["latencies_ms"][warm:]
        if len(found) < total:
            sys.exit(f"the plain consumer read {len(found)} of {total} events")
    finally:
        processes.stop_process(probe.pid)
    return {**summary(found), "offered": offered}


def summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    quantiles = statistics.quantiles(ordered, n=100)
    return {"p50": quantiles[49], "p90": quantiles[89], "p99": quantiles[98], "max": ordered[-1],
            "events": float(len(ordered))}


def timeline(published: list[float], latencies: list[float]) -> None:
    """p50 / max latency per second of publishing (GOVBUS_BENCH_TIMELINE=1): where a tail comes from."""
    start = min(published)
    seconds: dict[int, list[float]] = {}
    for when, ms in zip(published, latencies, strict=True):
        seconds.setdefault(int(when - start), []).append(ms)
    for second, values in sorted(seconds.items()):
        print(f"    second {second:>2}: {len(values):>5} events, p50 {statistics.median(values):7.1f} ms, "
              f"max {max(values):7.1f} ms")


def measure(bootstrap: str, registry_url: str, args: argparse.Namespace) -> None:
    secret = new_secret()
    receiver_pid, url = start_receiver(secret)
    try:
        env = {"GOVBUS_KAFKA__BOOTSTRAP": bootstrap, "GOVBUS_REGISTRY__URL": registry_url, SECRET_ENV: secret}
        print(f"webhook connector, {ITEM}, {len(FIELDS)} fields (1 masked), 3 partitions, batches of "
              f"{args.batch_size}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        rate_part(bootstrap, registry_url, url, env, args)
        latency_part(bootstrap, registry_url, url, env, args)
    finally:
        processes.stop_process(receiver_pid)


def rate_part(bootstrap: str, registry_url: str, url: str, env: dict[str, str], args: argparse.Namespace) -> None:
    prefix = f"govbus.bench-{uuid.uuid4().hex[:6]}"
    store = SharingStore(kafka_at(bootstrap), prefix)
    sub = subscription("bench-rate", f"{url}/govbus")
    store.put_subscription(sub)
    canonical = Canonical(bootstrap, registry_url, prefix)
    events = [canonical.event(s.record) for s in records_for(canonical.item, args.events, 0.0, seed=7)]
    for event in events:
        canonical.send(event)
    canonical.flush()
    shaped = shaped_events(events, sub)
    batched = plain_loop(url, shaped, args.batch_size)
    single = plain_loop(url, shaped[:min(len(shaped), 5000)], 1)
    connector, mean_batch = connector_rate(url, {**env, "GOVBUS_TOPIC_PREFIX": prefix}, len(events),
                                           args.batch_size)
    print(f"  {'plain httpx loop, pre-shaped, batches of ' + str(args.batch_size):<58} {batched:>9,.0f} events/s")
    print(f"  {'plain httpx loop, pre-shaped, one event per POST':<58} {single:>9,.0f} events/s")
    print(f"  {'connector (Kafka, decode, shape, sign, audit, commit)':<58} {connector:>9,.0f} events/s  "
          f"mean batch {mean_batch:.0f}; ratio connector / batched loop: {connector / batched:.2f}, "
          f"/ one-per-POST loop: {connector / single:.1f}")


def latency_part(bootstrap: str, registry_url: str, url: str, env: dict[str, str], args: argparse.Namespace) -> None:
    prefix = f"govbus.bench-{uuid.uuid4().hex[:6]}"
    store = SharingStore(kafka_at(bootstrap), prefix)
    store.put_subscription(subscription("bench-latency", f"{url}/govbus"))
    canonical = Canonical(bootstrap, registry_url, prefix)
    found = latency(url, {**env, "GOVBUS_TOPIC_PREFIX": prefix}, canonical, args.rate, args.seconds, args.batch_size)
    alone = kafka_alone(bootstrap, canonical, args.rate, args.seconds)
    verdict = "meets" if found["p99"] <= 100 else "MISSES"
    print(f"  publish-to-delivery at {found['offered']:,.0f} events/s offered for {args.seconds:.0f} s "
          f"({found['events']:,.0f} events, {found['batches']:,.0f} batches): {_quantiles(found)} "
          f"({verdict} the p99 <= 100 ms target)")
    print(f"  baseline, Kafka alone (publish to a plain consumer process, same rate): {_quantiles(alone)}")


def _quantiles(found: dict[str, float]) -> str:
    return (f"p50 {found['p50']:.1f} ms, p90 {found['p90']:.1f} ms, p99 {found['p99']:.1f} ms, "
            f"max {found['max']:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000, help="events for the rate part")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--rate", type=int, default=2000, help="offered events/s for the latency part")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with platform() as (bootstrap, registry_url):
        measure(bootstrap, registry_url, args)


if __name__ == "__main__":
    os.environ.setdefault("GOVBUS_LOG_LEVEL", "WARNING")
    main()
