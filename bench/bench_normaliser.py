"""Normaliser throughput (exactly-once) against a plain confluent-kafka loop doing the same dialect work.

    .venv/bin/python -m bench.bench_normaliser [--records 20000] [--rounds 2] [--bad-share 0.05]
                                               [--intervals 0.01,0.02,0.05,0.1,1.0] [--dedup-off]

N enterprise-registration events (the item's two local dialects and its department topic, in
equal parts, about 5 % of them invalid) are produced once to the normaliser's three source topics
(3 partitions each). Then, per round, each pipeline reads all N from the beginning:

- **byte copy**: a confluent-kafka consume -> produce loop copying the bytes untouched: the ceiling;
- **plain loop** (the baseline, 1.00): the same loop with the normaliser's dialect work in it,
  consume -> :class:`~streams.normalising.handler.ItemNormaliser` (decode + normalise + validate +
  encode) -> produce, in batches, no transactions, no deduplication, no state (``bench/_pipes.py``);
  records/s from its first record read to its last one acknowledged;
- **normaliser**: the real worker, ``python -m streams.normaliser`` (one item, exactly-once,
  deduplication by event id in its state store and changelog), a process with a fresh app id and
  state directory: records/s from ``govbus_normaliser_records_processed_total`` on its /metrics,
  between the first scrape that shows a processed record and the last one before the N-th
  (``bench/_workers.py``), so its start-up (topics, group join, recovery) is excluded. It runs
  - **as deployed** (the baseline's comparison, target >= 0.8): commit interval 0.02 s, and the
    engine's commit pacer at its default: 0.5 s per transaction while the worker is behind
    (``streams.engine.CommitPacer``), as it is here for all but the last records;
  - at each commit interval of ``--intervals`` **pinned** (``GOVBUS_STREAMS_COMMIT_INTERVAL`` and
    ``GOVBUS_STREAMS_BACKLOG_COMMIT_INTERVAL`` both set to it, so the pacer does not change it):
    what each interval costs in throughput; 0.02 s pinned is the worker that commits every 0.02 s
    all the time (as when it keeps up with its traffic);
  - with ``--dedup-off``, also as deployed with ``GOVBUS_NORMALISER_DEDUP=false`` (no state store,
    no changelog writes).

Prints per round every rate and the ratio normaliser as deployed / plain loop, then medians with
every round's figure in brackets, the ratios, and the normaliser's rate at each pinned interval.
Publish-to-canonical latency per interval is ``bench/bench_latency.py``. The machine is shared and
has 2 cores: run it more than once. Starts and stops (by PID) a local broker and registry unless
GOVBUS_KAFKA__BOOTSTRAP / GOVBUS_REGISTRY__URL are set; deletes the topics it made.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench._dialect_events import ITEM, dialect_events, produce_all
from bench._pipes import (
    byte_copy_topic,
    copy_route,
    normalising_route,
    pipe_rate,
    plain_canonical_topic,
    plain_dead_letter_topic,
)
from bench._platform import delete_topics, platform
from bench._report import spread
from bench._workers import Commits, counted_rate, normaliser
from govbus.topics import TopicSpec, ensure_topics
from streams.normalising.settings import NormaliserSettings
from streams.normalising.topics import ensure_normaliser_topics, source_topics
from testsupport.connections import kafka_at, registry_at

PARTITIONS = 3
PROCESSED = "govbus_normaliser_records_processed_total"
BYTE_COPY, PLAIN = "byte copy", "plain loop"
DEPLOYED = "normaliser as deployed (0.02 s; 0.5 s while behind)"
PINNED_DEFAULT = "normaliser, 0.02 s pinned"


@dataclass(frozen=True)
class Variant:
    """One way of running the normaliser."""

    label: str
    commits: Commits
    dedup: bool = True


def variants(intervals: list[float], dedup_off: bool) -> list[Variant]:
    """As deployed, then each interval pinned (the pacer off), then (optionally) as deployed without dedup."""
    pinned = [Variant(f"normaliser, {interval:g} s pinned", Commits(interval, interval)) for interval in intervals]
    extra = [Variant("normaliser as deployed, dedup off", Commits(0.02), dedup=False)] if dedup_off else []
    return [Variant(DEPLOYED, Commits(0.02)), *pinned, *extra]


def prepare(bootstrap: str, registry_url: str, prefix: str, records: int, bad_share: float) -> NormaliserSettings:
    """The normaliser's topics under ``prefix``, the loops' targets and ``records`` events in its sources."""
    settings = NormaliserSettings(kafka=kafka_at(bootstrap), registry=registry_at(registry_url), topic_prefix=prefix,
                                  normaliser_items=(ITEM,), normaliser_partitions=PARTITIONS, normaliser_dedup=False)
    ensure_normaliser_topics(settings)  # the workers create their own changelogs (each has its own app id)
    ensure_topics(kafka_at(bootstrap), [TopicSpec(name(prefix), PARTITIONS)
                              for name in (plain_canonical_topic, plain_dead_letter_topic, byte_copy_topic)])
    started = time.perf_counter()
    produce_all(bootstrap, dialect_events(registry_url, prefix, records, bad_share, seed=7))
    print(f"{records:,} {ITEM} events in 3 dialects ({bad_share:.0%} invalid) on {PARTITIONS} partitions each, "
          f"loaded in {time.perf_counter() - started:.1f} s; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs")
    return settings


def one_round(settings: NormaliserSettings, records: int, runs: list[Variant], directory: Path) -> dict[str, float]:
    """records/s of every pipeline over the same ``records`` events."""
    topics = source_topics(settings, ITEM)
    rates = {BYTE_COPY: pipe_rate(settings.kafka.bootstrap, topics, records, copy_route(settings.topic_prefix)),
             PLAIN: pipe_rate(settings.kafka.bootstrap, topics, records, normalising_route(settings))}
    for run in runs:
        with normaliser(settings, directory, run.commits, run.dedup) as worker:
            rates[run.label] = counted_rate(worker, PROCESSED, records)
    return rates


def report(rounds: list[dict[str, float]]) -> None:
    """Medians over the rounds, every round's figure in brackets."""
    print(f"medians of {len(rounds)} rounds (every round in brackets):")
    for name in rounds[0]:
        values = [r[name] for r in rounds]
        print(f"  {name:<52} {statistics.median(values):>9,.0f} records/s  {spread(values)}")
    pairs = [(DEPLOYED, PLAIN), (PINNED_DEFAULT, PLAIN), (DEPLOYED, BYTE_COPY), (PLAIN, BYTE_COPY)]
    for name, to in (pair for pair in pairs if pair[0] in rounds[0]):
        ratios = [r[name] / r[to] for r in rounds]
        target = "  (target >= 0.8)" if name == DEPLOYED and to == PLAIN else ""
        print(f"  ratio {name} / {to}: {statistics.median(ratios):.3f} {spread(ratios, '.3f')}{target}")
    print("what each commit interval costs (pinned: the same interval while behind), medians:")
    for name in (n for n in rounds[0] if n.endswith("pinned")):
        values = [r[name] for r in rounds]
        ratios = [r[name] / r[PLAIN] for r in rounds]
        print(f"  {name:<52} {statistics.median(values):>9,.0f} records/s  {spread(values)}  "
              f"/ plain loop {statistics.median(ratios):.2f} {spread(ratios, '.2f')}")


def print_round(number: int, rates: dict[str, float]) -> None:
    print(f"  round {number} (load average {os.getloadavg()[0]:.1f}): "
          + ", ".join(f"{name} {rate:,.0f}/s" for name, rate in rates.items())
          + f"; ratio normaliser as deployed / plain loop {rates[DEPLOYED] / rates[PLAIN]:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--bad-share", type=float, default=0.05)
    parser.add_argument("--intervals", default="0.01,0.02,0.05,0.1,1.0",
                        help="commit intervals (seconds, comma-separated) to run the normaliser with")
    parser.add_argument("--dedup-off", action="store_true", help="also run the normaliser without deduplication")
    args = parser.parse_args()
    runs = variants(sorted({float(v) for v in args.intervals.split(",")}), args.dedup_off)
    directory = Path(tempfile.mkdtemp(prefix="govbus-bench-normaliser-"))
    prefix = f"govbus.bench-{uuid.uuid4().hex[:6]}"
    with platform() as (bootstrap, registry_url):
        try:
            settings = prepare(bootstrap, registry_url, prefix, args.records, args.bad_share)
            print(f"worker logs and state in {directory}")
            rounds = []
            for number in range(1, args.rounds + 1):
                rounds.append(one_round(settings, args.records, runs, directory))
                print_round(number, rounds[-1])
            report(rounds)
        finally:
            print(f"deleted the {delete_topics(bootstrap, [prefix])} topics of {prefix}")


if __name__ == "__main__":
    os.environ.setdefault("GOVBUS_LOG_LEVEL", "WARNING")
    main()
