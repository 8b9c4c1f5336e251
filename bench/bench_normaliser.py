"""Normaliser throughput against raw confluent-kafka pipes over the same records, in the same run.

    .venv/bin/python -m bench.bench_normaliser [--records 20000] [--rounds 2] [--bad-share 0.05]

N enterprise-registration events (its two local dialects and the canonical department topic, in
equal parts, about 5 % of them invalid) are produced once to the normaliser's three source topics
(3 partitions each). Then, per round, each pipeline reads all N from the beginning:

- **faust normaliser**: the real worker, ``python -m streams.normaliser`` (one item, deduplication
  by event id with its changelog, metrics), a subprocess with a fresh app id; the rate is taken
  from its ``/metrics`` between the first and the N-th processed record, so start-up is excluded;
- **raw pipe**: a confluent-kafka ``Consumer`` (assigned, no group wait) -> the same
  :class:`~streams.normalising.handler.ItemNormaliser` (decode + normalise + validate + encode) ->
  a ``Producer`` (acks=all, idempotence), to its own canonical and dead-letter topics, no faust and no
  deduplication; offsets committed at the end;
- **byte copy**: the same consume-then-produce loop copying the bytes untouched (the ceiling).

To show where the time goes, two more faust runs: the normaliser with deduplication off
(``GOVBUS_NORMALISER_DEDUP=false``: no table, no changelog writes) and a faust agent that only
copies the bytes (``bench/_faust_copy.py``, same app settings): faust's own floor.

Prints records/s for each (median over rounds) and the ratios faust / raw pipe (target >= 0.5) and
faust / byte copy. The machine is shared and has 2 cores: run it more than once. Starts and stops (by
PID) a local broker and registry unless GOVBUS_KAFKA_BOOTSTRAP / GOVBUS_REGISTRY_URL are set.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, Producer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from prometheus_client.parser import text_string_to_metric_families

from bench._platform import platform
from govbus.platform.components import start_component
from govbus.platform.processes import free_port
from govbus.serde import WireDecoder, WireEncoder
from govbus.topic_names import value_subject
from govbus.topics import TopicSpec, ensure_topics
from streams.dead_letters import DeadLetter
from streams.dialects import dialects_for
from streams.dialects.synthetic import change_event, samples
from streams.normaliser import item_normaliser
from streams.normalising.handler import Accepted
from streams.normalising.settings import NormaliserSettings
from streams.normalising.topics import ensure_normaliser_topics, source_topics

ITEM = "enterprise_registration"
PARTITIONS = 3
Headers = list[tuple[str, str | bytes | None]]
Route = Callable[[Message], tuple[str, bytes | None, bytes | None, Headers | None]]


def preload(bootstrap: str, registry_url: str, prefix: str, count: int, bad_share: float) -> None:
    """Produce ``count`` events of the item's dialects (equal parts) to their topics."""
    registry = SchemaRegistryClient({"url": registry_url})
    rng = random.Random(7)
    dialects = dialects_for(ITEM)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                         "linger.ms": 20, "queue.buffering.max.messages": 500_000})
    for index, dialect in enumerate(dialects):
        topic = dialect.topic(prefix)
        encoder = WireEncoder(registry, value_subject(topic), dialect.event_schema())
        share = count // len(dialects) + (1 if index < count % len(dialects) else 0)
        for sample in samples(ITEM, dialect.name, share, bad_share=bad_share, seed=11):
            value = encoder.encode(change_event(sample, dialect.department, rng))
            while True:
                try:
                    producer.produce(topic, key=sample.key.encode(), value=value)
                    break
                except BufferError:
                    producer.poll(0.1)
            producer.poll(0)
    producer.flush(120)


def consume_produce(bootstrap: str, topics: list[str], count: int, route: Route) -> float:
    """Read ``count`` records of ``topics`` from the beginning, produce what ``route`` makes of each;
    records/s from the first record read to the last one acknowledged."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:8]}",
                         "enable.auto.commit": False, "enable.partition.eof": False})
    consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t in topics for p in range(PARTITIONS)])
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                         "linger.ms": 5, "queue.buffering.max.messages": 500_000})
    seen, started = 0, 0.0
    try:
        while seen < count:
            for message in consumer.consume(500, 1.0):
                if message.error():
                    continue
                if not seen:
                    started = time.perf_counter()
                topic, key, value, headers = route(message)
                while True:
                    try:
                        producer.produce(topic, key=key, value=value, headers=headers)
                        break
                    except BufferError:
                        producer.poll(0.05)
                seen += 1
            producer.poll(0)
        producer.flush(120)
        consumer.commit(asynchronous=False)
        return (count - 1) / (time.perf_counter() - started)
    finally:
        consumer.close()


def normalising_route(settings: NormaliserSettings, prefix: str) -> Route:
    registry = SchemaRegistryClient({"url": settings.registry_url})
    normaliser = item_normaliser(settings, ITEM, registry, WireDecoder(registry))
    canonical, dead = f"{prefix}.bench.raw-canonical", f"{prefix}.bench.raw-dead-letter"

    def route(message: Message) -> tuple[str, bytes | None, bytes | None, Headers | None]:
        topic = str(message.topic())
        outcome = normaliser.handle(message.value(), topic)
        if isinstance(outcome, Accepted):
            return canonical, outcome.key, outcome.value, list(outcome.headers())
        letter = DeadLetter(outcome.reason, outcome.stage, topic, int(message.partition() or 0),
                            int(message.offset() or 0), field=outcome.field, rule=outcome.rule)
        return dead, message.key(), message.value(), list(letter.headers())

    return route


def copy_route(prefix: str) -> Route:
    copy_topic = f"{prefix}.bench.byte-copy"

    def route(message: Message) -> tuple[str, bytes | None, bytes | None, Headers | None]:
        return copy_topic, message.key(), message.value(), None

    return route


def processed(port: int) -> float:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return 0.0
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == "govbus_normaliser_records_processed_total")


def faust_normaliser(settings: NormaliserSettings, count: int, log_dir: Path, dedup: bool = True) -> float:
    """The worker as a subprocess with a fresh app id; records/s from its metrics, start-up excluded."""
    port = free_port()
    app_id = f"bench-normaliser-{uuid.uuid4().hex[:6]}"
    env = {"GOVBUS_KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "GOVBUS_REGISTRY_URL": settings.registry_url,
           "GOVBUS_TOPIC_PREFIX": settings.topic_prefix, "GOVBUS_NORMALISER_ITEMS": ITEM,
           "GOVBUS_NORMALISER_APP_ID": app_id, "GOVBUS_NORMALISER_METRICS_PORT": str(port),
           "GOVBUS_NORMALISER_PARTITIONS": str(PARTITIONS), "GOVBUS_NORMALISER_DEDUP": str(dedup).lower(),
           "GOVBUS_LOG_LEVEL": "WARNING"}
    return measured_worker("streams.normaliser", env, port, count, log_dir / f"{app_id}.log")


def faust_copy(settings: NormaliserSettings, count: int, log_dir: Path) -> float:
    """A faust agent copying the bytes (bench/_faust_copy.py): faust's own floor."""
    port = free_port()
    app_id = f"bench-copy-{uuid.uuid4().hex[:6]}"
    env = {"BENCH_BOOTSTRAP": settings.kafka_bootstrap, "BENCH_APP_ID": app_id, "BENCH_METRICS_PORT": str(port),
           "BENCH_SOURCES": ",".join(source_topics(settings, ITEM)),
           "BENCH_SINK": f"{settings.topic_prefix}.bench.faust-copy"}
    return measured_worker("bench._faust_copy", env, port, count, log_dir / f"{app_id}.log")


def measured_worker(module: str, env: dict[str, str], port: int, count: int, log_path: Path) -> float:
    """Run ``python -m module``; records/s between its first and its ``count``-th processed record."""
    worker = start_component(module, module, env, log_path)
    try:
        first_count, first_time = 0.0, 0.0
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            now, done = time.perf_counter(), processed(port)
            if done and not first_time:
                first_count, first_time = done, now
            if done >= count:
                return (count - first_count) / (now - first_time)
            if not worker.alive():
                raise RuntimeError(f"{module} exited; see {log_path}")
            time.sleep(0.1)
        raise RuntimeError(f"{module} did not process {count} records in 600 s; see {log_path}")
    finally:
        worker.stop(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--bad-share", type=float, default=0.05)
    args = parser.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="govbus-bench-normaliser-"))
    with platform() as (bootstrap, registry_url):
        prefix = f"govbus.bench-{uuid.uuid4().hex[:6]}"
        settings = NormaliserSettings(kafka_bootstrap=bootstrap, registry_url=registry_url, topic_prefix=prefix,
                                      normaliser_items=(ITEM,), normaliser_partitions=PARTITIONS)
        ensure_normaliser_topics(settings)
        ensure_topics(bootstrap, [TopicSpec(f"{prefix}.bench.{name}", PARTITIONS)
                                  for name in ("raw-canonical", "raw-dead-letter", "byte-copy", "faust-copy")])
        started = time.perf_counter()
        preload(bootstrap, registry_url, prefix, args.records, args.bad_share)
        print(f"{args.records:,} {ITEM} events in 3 dialects ({args.bad_share:.0%} invalid) on "
              f"{PARTITIONS} partitions each, loaded in {time.perf_counter() - started:.1f} s; logs in {log_dir}")
        topics = source_topics(settings, ITEM)
        rates: dict[str, list[float]] = {"faust normaliser": [], "raw pipe": [], "byte copy": [],
                                         "faust normaliser, no dedup": [], "faust byte copy": []}
        for round_number in range(1, args.rounds + 1):
            rates["byte copy"].append(consume_produce(bootstrap, topics, args.records, copy_route(prefix)))
            rates["raw pipe"].append(consume_produce(bootstrap, topics, args.records,
                                                     normalising_route(settings, prefix)))
            rates["faust normaliser"].append(faust_normaliser(settings, args.records, log_dir))
            rates["faust normaliser, no dedup"].append(faust_normaliser(settings, args.records, log_dir, dedup=False))
            rates["faust byte copy"].append(faust_copy(settings, args.records, log_dir))
            print(f"  round {round_number}: " + ", ".join(f"{name} {r[-1]:,.0f}/s" for name, r in rates.items()),
                  flush=True)
        median = {name: statistics.median(r) for name, r in rates.items()}
        for name, rate in median.items():
            print(f"  {name:<52} {rate:>10,.0f} records/s (median of {args.rounds})")
        print(f"ratio faust normaliser / raw pipe:  {median['faust normaliser'] / median['raw pipe']:.2f} "
              "(target >= 0.5)")
        print(f"ratio faust normaliser / byte copy: {median['faust normaliser'] / median['byte copy']:.2f}")
        print(f"ratio raw pipe / byte copy:         {median['raw pipe'] / median['byte copy']:.2f}")
        print(f"ratio faust byte copy / byte copy:  {median['faust byte copy'] / median['byte copy']:.2f} "
              "(faust's own cost, no work at all)")
        print(f"ratio faust normaliser / faust byte copy: {median['faust normaliser'] / median['faust byte copy']:.2f}")


if __name__ == "__main__":
    os.environ.setdefault("GOVBUS_LOG_LEVEL", "WARNING")
    main()
