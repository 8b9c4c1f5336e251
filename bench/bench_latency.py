"""Publish-to-canonical latency through the normaliser (exactly-once) at a steady offered rate, per commit interval.

    .venv/bin/python -m bench.bench_latency [--rate 2000] [--seconds 15] [--rounds 2]
                                            [--intervals 0.01,0.02,0.05,0.1,1.0] [--pacer-off]

A module of its own (bench_normaliser measures throughput from a backlog; this one offers a fixed
rate to an idle pipeline). Per round and per pipeline, on fresh topics:

1. the pipeline starts: the real normaliser worker (``python -m streams.normaliser``, one item,
   exactly-once, deduplication on) with ``GOVBUS_STREAMS_COMMIT_INTERVAL`` set to each of
   ``--intervals`` and the engine's commit pacer as deployed (it runs the next transaction for
   0.5 s instead whenever it judges the worker behind: a worker that cannot keep up shows it as
   far fewer commits/s than 1 / interval; ``--pacer-off`` pins it to the commit interval); and,
   as the baseline, the plain loop (``python -m bench._pipes``: consume -> ItemNormaliser ->
   produce, one message at a time, no transactions; ``bench/_pipes.py``);
2. a reader process (``bench/_latency_probe.py``, read_committed: a subscriber sees a transaction's
   outputs when it commits) reads the pipeline's canonical topic and notes ``time.monotonic()`` per
   message;
3. this process publishes enterprise-registration events of the item's three dialects in turn (all
   valid, pre-encoded, unique event ids) with a producer configured as the Publisher SDK (acks=all,
   idempotence, linger 5 ms, lz4) at ``--rate`` events/s: first 3 s of warm-up (group join,
   connections, caches), waited for until the reader has them all, then ``--seconds`` measured;
   each event's send time is ``time.monotonic()`` just before ``produce()``, kept by event id;
4. latency of an event = reader's receive time - send time, matched by the event id decoded from
   the canonical event (the normaliser keeps the envelope). Both ends read CLOCK_MONOTONIC, the same
   clock for every process of the machine. Every measured event must arrive.

Prints per pipeline and round p50, p99 and max (ms), the offered rate achieved and the transactions
committed per second, then medians over the rounds with every round's figure in brackets.
Target: p99 <= 50 ms at the default 0.02 s. Starts and stops (by PID) a local broker and registry
unless GOVBUS_KAFKA__BOOTSTRAP / GOVBUS_REGISTRY__URL are set, and every process it starts; each
measurement's topics are deleted after it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Producer

from bench._dialect_events import ITEM, Encoded, dialect_events, publisher_producer, send
from bench._pipes import plain_canonical_topic, plain_dead_letter_topic
from bench._platform import delete_topics, platform
from bench._report import quantile, spread
from bench._workers import Commits, normaliser, scrape
from govbus.platform import processes
from govbus.platform.components import start_component
from govbus.topic_names import canonical_topic
from govbus.topics import TopicSpec, ensure_topics
from streams.normalising.settings import NormaliserSettings
from streams.normalising.topics import ensure_normaliser_topics
from testsupport.connections import kafka_at, registry_at

PARTITIONS = 3
DEFAULT_INTERVAL = 0.02
WARM_UP_SECONDS = 3.0
PLAIN = "plain loop (no transactions)"
COMMITS = "govbus_streams_transaction_commits_total"


@dataclass(frozen=True)
class Latency:
    p50: float
    p99: float
    max: float
    offered: float
    commits_per_second: float | None = None


@dataclass(frozen=True)
class Run:
    """One measurement's fixed parts: where, how fast, how long."""

    settings: NormaliserSettings
    directory: Path
    rate: int
    seconds: float
    pacer: bool = True
    """False: the backlog interval pinned to the commit interval (``--pacer-off``)."""


def fresh_settings(bootstrap: str, registry_url: str, prefix: str) -> NormaliserSettings:
    """The normaliser's and the plain loop's topics under ``prefix`` (empty, so both start at their beginning)."""
    settings = NormaliserSettings(kafka=kafka_at(bootstrap), registry=registry_at(registry_url), topic_prefix=prefix,
                                  normaliser_items=(ITEM,), normaliser_partitions=PARTITIONS, normaliser_dedup=False)
    ensure_normaliser_topics(settings)
    ensure_topics(kafka_at(bootstrap), [TopicSpec(plain_canonical_topic(prefix), PARTITIONS),
                              TopicSpec(plain_dead_letter_topic(prefix), PARTITIONS)])
    return settings


class Probe:
    """The reader process (bench/_latency_probe.py) on one topic."""

    def __init__(self, run: Run, topic: str, warm: int, total: int) -> None:
        deadline = 120 + WARM_UP_SECONDS + run.seconds * 2
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench._latency_probe", run.settings.kafka.bootstrap, run.settings.registry.url,
             topic, str(warm), str(total), str(deadline)], stdout=subprocess.PIPE, text=True)
        self.expect("ready")

    def expect(self, line: str) -> None:
        assert self._process.stdout is not None
        found = self._process.stdout.readline().strip()
        if found != line:
            raise RuntimeError(f"the latency probe said {found[:200]!r}, not {line!r} (too slow, or it failed)")

    def received(self) -> dict[str, float]:
        assert self._process.stdout is not None
        found: dict[str, float] = json.loads(self._process.stdout.readline())["received"]
        return found

    def stop(self) -> None:
        processes.stop_process(self._process.pid)


class CommitRate:
    """Transactions a worker commits per second from now on (None for the plain loop, which has none)."""

    def __init__(self, metrics_port: int | None) -> None:
        self._port = metrics_port
        self._since = time.monotonic()
        self._count = scrape(metrics_port).get(COMMITS, 0.0) if metrics_port else 0.0

    def per_second(self) -> float | None:
        if not self._port:
            return None
        return (scrape(self._port).get(COMMITS, 0.0) - self._count) / (time.monotonic() - self._since)


def paced(producer: Producer, events: list[Encoded], rate: int) -> tuple[dict[str, float], float]:
    """Send ``events`` at ``rate``/s; (send time by event id, rate achieved)."""
    sent: dict[str, float] = {}
    started = time.monotonic()
    for n, event in enumerate(events):
        pause = started + n / rate - time.monotonic()
        if pause > 0.0005:
            time.sleep(pause)
        sent[event.event_id] = time.monotonic()
        send(producer, event)
    offered = len(events) / (time.monotonic() - started)
    if producer.flush(60):
        raise RuntimeError("the broker did not acknowledge every event in 60 s")
    return sent, offered


@contextmanager
def pipeline(run: Run, interval: float | None) -> Iterator[int | None]:
    """The normaliser at ``interval`` (yields its metrics port), or the plain loop for None (yields None)."""
    if interval is not None:
        with normaliser(run.settings, run.directory, Commits(interval, None if run.pacer else interval)) as worker:
            yield worker.metrics_port
        return
    env = {"GOVBUS_KAFKA__BOOTSTRAP": run.settings.kafka.bootstrap, "GOVBUS_REGISTRY__URL": run.settings.registry.url,
           "GOVBUS_TOPIC_PREFIX": run.settings.topic_prefix, "GOVBUS_LOG_LEVEL": "WARNING"}
    name = f"plain-loop-{uuid.uuid4().hex[:6]}"
    loop = start_component(name, "bench._pipes", env, run.directory / f"{name}.log")
    try:
        yield None
    finally:
        loop.stop()


def measure(run: Run, interval: float | None, seed: int) -> Latency:
    """Latency of one pipeline (the normaliser at ``interval``, or the plain loop for None) at ``run.rate``."""
    warm, total = int(run.rate * WARM_UP_SECONDS), int(run.rate * run.seconds)
    events = dialect_events(run.settings.registry.url, run.settings.topic_prefix, warm + total, 0.0, seed)
    topic = plain_canonical_topic(run.settings.topic_prefix) if interval is None else \
        canonical_topic(ITEM, run.settings.topic_prefix)
    producer = publisher_producer(run.settings.kafka.bootstrap)
    probe = Probe(run, topic, warm, warm + total)
    try:
        with pipeline(run, interval) as port:
            paced(producer, events[:warm], run.rate)
            probe.expect("warm")
            commits = CommitRate(port)
            sent, offered = paced(producer, events[warm:], run.rate)
            received = probe.received()
            per_second = commits.per_second()
    finally:
        probe.stop()
    return summary(sent, received, offered, per_second)


def summary(sent: dict[str, float], received: dict[str, float], offered: float,
            commits_per_second: float | None) -> Latency:
    missing = [event_id for event_id in sent if event_id not in received]
    if missing:
        raise RuntimeError(f"{len(missing)} of {len(sent)} measured events never reached the canonical topic")
    if os.environ.get("GOVBUS_BENCH_TIMELINE"):
        timeline(sent, received)
    ordered = sorted((received[event_id] - at) * 1000 for event_id, at in sent.items())
    return Latency(quantile(ordered, 0.5), quantile(ordered, 0.99), ordered[-1], offered, commits_per_second)


def timeline(sent: dict[str, float], received: dict[str, float]) -> None:
    """p50 / max latency per second of sending (GOVBUS_BENCH_TIMELINE=1): where a tail comes from."""
    start = min(sent.values())
    seconds: dict[int, list[float]] = {}
    for event_id, at in sent.items():
        seconds.setdefault(int(at - start), []).append((received[event_id] - at) * 1000)
    for second, values in sorted(seconds.items()):
        print(f"    second {second:>2}: {len(values):>5} events, p50 {statistics.median(values):7.1f} ms, "
              f"max {max(values):7.1f} ms")


def label(interval: float | None) -> str:
    return PLAIN if interval is None else f"normaliser, commit interval {interval:g} s"


def describe(found: Latency) -> str:
    commits = "" if found.commits_per_second is None else f", {found.commits_per_second:.0f} commits/s"
    return (f"p50 {found.p50:7.1f} ms, p99 {found.p99:7.1f} ms, max {found.max:7.1f} ms "
            f"({found.offered:,.0f} events/s offered{commits})")


def report(results: dict[str, list[Latency]]) -> None:
    print("medians over the rounds (every round in brackets), ms:")
    for name, found in results.items():
        p50, p99, most = ([getattr(f, q) for f in found] for q in ("p50", "p99", "max"))
        target = ""
        if name == label(DEFAULT_INTERVAL):
            target = "  meets p99 <= 50 ms" if statistics.median(p99) <= 50 else "  MISSES p99 <= 50 ms"
        print(f"  {name:<40} p50 {statistics.median(p50):7.1f} {spread(p50, '.1f'):<16} "
              f"p99 {statistics.median(p99):7.1f} {spread(p99, '.1f'):<18} "
              f"max {statistics.median(most):7.1f} {spread(most, '.1f')}{target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=2000, help="events/s offered")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per pipeline")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--intervals", default="0.01,0.02,0.05,0.1,1.0",
                        help="commit intervals (seconds, comma-separated) to run the normaliser with")
    parser.add_argument("--pacer-off", action="store_true",
                        help="pin GOVBUS_STREAMS_BACKLOG_COMMIT_INTERVAL to each commit interval (no pacing)")
    args = parser.parse_args()
    intervals: list[float | None] = [None, *sorted({float(v) for v in args.intervals.split(",")})]
    directory = Path(tempfile.mkdtemp(prefix="govbus-bench-latency-"))
    results: dict[str, list[Latency]] = {label(interval): [] for interval in intervals}
    with platform() as (bootstrap, registry_url):
        print(f"{ITEM} events in 3 dialects at {args.rate:,}/s: {WARM_UP_SECONDS:.0f} s of warm-up, then "
              f"{args.seconds:.0f} s measured; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
              f"logs in {directory}")
        for number in range(1, args.rounds + 1):
            for seed, interval in enumerate(intervals):
                found = on_fresh_topics(bootstrap, registry_url, directory, args, interval, 100 * number + seed)
                results[label(interval)].append(found)
                print(f"  round {number}, {label(interval):<40} {describe(found)}", flush=True)
        report(results)


def on_fresh_topics(bootstrap: str, registry_url: str, directory: Path, args: argparse.Namespace,
                    interval: float | None, seed: int) -> Latency:
    """:func:`measure` on topics of a new prefix, deleted afterwards."""
    prefix = f"govbus.bench-{uuid.uuid4().hex[:6]}"
    try:
        settings = fresh_settings(bootstrap, registry_url, prefix)
        run = Run(settings, directory, args.rate, args.seconds, pacer=not args.pacer_off)
        return measure(run, interval, seed)
    finally:
        delete_topics(bootstrap, [prefix])


if __name__ == "__main__":
    os.environ.setdefault("GOVBUS_LOG_LEVEL", "WARNING")
    main()
