"""Profile builder throughput (exactly-once) against a plain byte copy over the same input, in the same run.

    .venv/bin/python -m bench.bench_profiles [--events 20000] [--rounds 2] [--partitions 3]

- input: a seeded scenario of N canonical change events for the items of the enterprise and
  person profiles (anchors, sides, updates, deletes, moves), produced once to the canonical topics;
- baseline: a plain confluent-kafka loop consuming those N events and producing each, unchanged,
  to one topic (acks=all, idempotence on, no transactions; ``bench/_pipes.py``): events/s from its
  first message read to its last one acknowledged;
- profile builder: ``python -m streams.profiles`` (exactly-once, commits as deployed: every 0.02 s,
  every 0.5 s while the worker is behind (records always ready for five transactions in a row), as
  it is here; a new app id and state directory
  per round, so it starts from the beginning) re-keying the events
  through its repartition topics and building both profiles in its state stores. Its repartition
  and profile topics are created here first with ``message.timestamp.type=LogAppendTime`` (Quix
  gives an output the timestamp of its input, so CreateTime would say when the canonical events
  were produced): the run is timed from the broker's append time of the first forward (the first
  canonical event re-keyed) to that of the last profile written, which leaves the worker's start-up
  out. (The first profile comes seconds after the first forward: the worker re-keys much of the
  backlog before its build step gets the forwards, which it reads only once committed.) Input
  events/s = N / that time; profile updates/s = profiles written (tombstones not counted) / that
  time. It is done when its group's committed offsets reach the end of the canonical topics and
  then of the repartition topics (whose last record is a transaction marker, never delivered). Its
  /metrics (``govbus_profile_inputs_total``, ``govbus_profile_updates_total``,
  ``govbus_streams_transaction_commits_total``) are printed too.

Prints per round and as medians with every round's figure in brackets; target >= 10,000 input
events/s. The machine is shared and has 2 cores: run it more than once. Starts and stops (by PID)
what it needs: a local Kafka broker and a registry (unless GOVBUS_KAFKA__BOOTSTRAP /
GOVBUS_REGISTRY__URL are set) and the worker processes; deletes the topics it made.
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

from confluent_kafka import TIMESTAMP_LOG_APPEND_TIME, Consumer, KafkaException, TopicPartition

from bench._pipes import byte_copy_topic, copy_route, pipe_rate
from bench._platform import delete_topics, platform
from bench._report import spread
from bench._workers import Worker, running, scrape
from govbus import clients
from govbus.topic_reader import read_topic
from govbus.topics import TopicSpec, ensure_topics
from schemas.catalogue.profiles import load_profiles
from streams.profiles.topology import ProfileSettings, ProfileTopology, ensure_profile_topics
from testsupport.connections import kafka_at, registry_at
from testsupport.profile_inputs import CanonicalProducer, profile_scenario

DEFINITIONS = load_profiles()
METRICS = {"forwards read": "govbus_profile_inputs_total", "updates": "govbus_profile_updates_total",
           "tombstones": "govbus_profile_tombstones_total", "commits": "govbus_streams_transaction_commits_total"}


@dataclass(frozen=True)
class BuilderRun:
    inputs_per_second: float
    updates_per_second: float
    seconds: float
    metrics: dict[str, float]


def anchors_for(events: int) -> int:
    """Anchors per profile giving about ``events`` events (the scenario makes ~25 per anchor of both)."""
    return max(10, events // 25)


def builder_settings(bootstrap: str, registry_url: str, prefix: str, app_id: str, partitions: int) -> ProfileSettings:
    """A fresh app id's settings, its repartition and profile topics created with LogAppendTime (then every other
    topic it needs)."""
    settings = ProfileSettings(kafka=kafka_at(bootstrap), registry=registry_at(registry_url), topic_prefix=prefix,
                               profiles_app_id=app_id, profiles_partitions=partitions,
                               profiles_output_prefix=f"{prefix}.{app_id}")
    topology = ProfileTopology(settings)
    appended = {"message.timestamp.type": "LogAppendTime"}
    ensure_topics(kafka_at(bootstrap), [TopicSpec(topology.repartition_topic(d.name), partitions, appended)
                              for d in DEFINITIONS]
                  + [TopicSpec(topology.output_topic(d.name), partitions, {"cleanup.policy": "compact", **appended})
                     for d in DEFINITIONS])
    ensure_profile_topics(settings)
    return settings


def builder_env(settings: ProfileSettings) -> dict[str, str]:
    return {"GOVBUS_KAFKA__BOOTSTRAP": settings.kafka.bootstrap, "GOVBUS_REGISTRY__URL": settings.registry.url,
            "GOVBUS_TOPIC_PREFIX": settings.topic_prefix, "GOVBUS_PROFILES_APP_ID": settings.profiles_app_id,
            "GOVBUS_PROFILES_PARTITIONS": str(settings.profiles_partitions),
            "GOVBUS_PROFILES_OUTPUT_PREFIX": str(settings.profiles_output_prefix)}


def run_builder(settings: ProfileSettings, directory: Path, inputs: int) -> BuilderRun:
    """One fresh profile app over the ``inputs`` canonical events, timed from its first forward to its last profile
    (broker append times)."""
    topology = ProfileTopology(settings)
    canonical = [topology.canonical_topic(item) for item in topology.source_items()]
    repartition = [topology.repartition_topic(d.name) for d in DEFINITIONS]
    with running("streams.profiles", settings.profiles_app_id, builder_env(settings),
                 "GOVBUS_PROFILES_METRICS_PORT", directory) as worker:
        wait_until_done(settings.kafka.bootstrap, settings.profiles_app_id, canonical, repartition, worker)
        found = scrape(worker.metrics_port)
    metrics = {name: found.get(metric, 0.0) for name, metric in METRICS.items()}
    forwards = appended(settings.kafka.bootstrap, repartition)
    profiles = appended(settings.kafka.bootstrap, [topology.output_topic(d.name) for d in DEFINITIONS])
    seconds = (max(stamp for stamp, _ in profiles) - min(stamp for stamp, _ in forwards)) / 1000
    updates = sum(1 for _, tombstone in profiles if not tombstone)
    return BuilderRun(inputs / seconds, updates / seconds, seconds, metrics)


def appended(bootstrap: str, topics: list[str]) -> list[tuple[int, bool]]:
    """(broker append time in ms, whether a tombstone) of every committed message of ``topics``."""
    messages = [m for topic in topics for m in read_topic(kafka_at(bootstrap), topic, timeout=120)]
    kinds = {m.timestamp()[0] for m in messages}
    if kinds != {TIMESTAMP_LOG_APPEND_TIME}:
        raise RuntimeError(f"topics {topics} without LogAppendTime timestamps (types {kinds})")
    return [(m.timestamp()[1], m.value() is None) for m in messages]


def wait_until_done(bootstrap: str, group: str, canonical: list[str], repartition: list[str], worker: Worker,
                    timeout: float = 900) -> None:
    """Until ``group`` has committed the end of the canonical topics, then of the repartition topics."""
    consumer = clients.consumer(kafka_at(bootstrap), group, {"enable.auto.commit": False})
    deadline = time.monotonic() + timeout
    try:
        for topics, markers in ((canonical, 0), (repartition, 1)):
            while not _committed_to_end(consumer, topics, markers):
                worker.check_alive()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the profile builder did not catch up in {timeout:.0f} s")
                time.sleep(0.2)
    finally:
        consumer.close()


def _committed_to_end(consumer: Consumer, topics: list[str], markers: int) -> bool:
    """Whether the committed offset of every non-empty partition of ``topics`` is within ``markers`` of its end
    (a partition written in transactions ends in a commit marker, which no consumer position passes)."""
    try:
        ends = [TopicPartition(t, p, consumer.get_watermark_offsets(TopicPartition(t, p), timeout=10)[1])
                for t in topics for p in consumer.list_topics(t, timeout=10).topics[t].partitions]
        committed = {(tp.topic, tp.partition): tp.offset for tp in consumer.committed(ends, timeout=10)}
    except KafkaException:  # a partition still electing its leader: ask again
        return False
    return all(committed[(tp.topic, tp.partition)] >= tp.offset - markers for tp in ends if tp.offset > 0)


def load(bootstrap: str, registry_url: str, prefix: str, events: int, partitions: int) -> tuple[list[str], int]:
    """(canonical topics, events) of a fresh scenario produced to the canonical topics of ``prefix``."""
    scenario = profile_scenario(DEFINITIONS, anchors_per_profile=anchors_for(events), seed=2017)
    topology = ProfileTopology(ProfileSettings(topic_prefix=prefix, profiles_partitions=partitions))
    topics = [topology.canonical_topic(item) for item in topology.source_items()]
    ensure_topics(kafka_at(bootstrap), [TopicSpec(t, partitions) for t in [*topics, byte_copy_topic(prefix)]])
    CanonicalProducer(bootstrap, registry_url, prefix).produce(scenario)
    print(f"{len(scenario):,} canonical events for {anchors_for(events)} enterprises and as many persons, "
          f"{partitions} partitions; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return topics, len(scenario)


def measure(bootstrap: str, registry_url: str, run_id: str, events: int, rounds: int, partitions: int) -> None:
    """Every topic it makes has ``run_id`` in its name: the prefix ``govbus.<run_id>`` and app ids ``<run_id>-<n>``."""
    prefix = f"govbus.{run_id}"
    topics, total = load(bootstrap, registry_url, prefix, events, partitions)
    directory = Path(tempfile.mkdtemp(prefix="govbus-bench-profiles-"))
    print(f"worker logs and state in {directory}")
    copies: list[float] = []
    runs: list[BuilderRun] = []
    for number in range(1, rounds + 1):
        copies.append(pipe_rate(bootstrap, topics, total, copy_route(prefix)))
        settings = builder_settings(bootstrap, registry_url, prefix, f"{run_id}-{number}", partitions)
        runs.append(run_builder(settings, directory, total))
        print(f"  round {number}: byte copy {copies[-1]:,.0f} events/s; builder {runs[-1].inputs_per_second:,.0f} "
              f"input events/s, {runs[-1].updates_per_second:,.0f} profile updates/s over {runs[-1].seconds:.2f} s; "
              "metrics " + ", ".join(f"{name} {value:,.0f}" for name, value in runs[-1].metrics.items()), flush=True)
    report(copies, runs)


def report(copies: list[float], runs: list[BuilderRun]) -> None:
    inputs = [r.inputs_per_second for r in runs]
    updates = [r.updates_per_second for r in runs]
    ratios = [i / c for i, c in zip(inputs, copies, strict=True)]
    print(f"medians of {len(runs)} rounds (every round in brackets):")
    print(f"  {'baseline: plain byte copy (consume + produce)':<48} {statistics.median(copies):>9,.0f} events/s   "
          f"{spread(copies)}")
    print(f"  {'profile builder: input events':<48} {statistics.median(inputs):>9,.0f} events/s   {spread(inputs)}  "
          f"(target >= 10,000)")
    print(f"  {'profile builder: profile updates written':<48} {statistics.median(updates):>9,.0f} updates/s  "
          f"{spread(updates)}")
    print(f"  ratio builder input events / byte copy: {statistics.median(ratios):.3f} {spread(ratios, '.3f')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000, help="about this many canonical events")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--partitions", type=int, default=3)
    args = parser.parse_args()
    run_id = f"bench-profiles-{uuid.uuid4().hex[:6]}"
    with platform() as (bootstrap, registry_url):
        try:
            measure(bootstrap, registry_url, run_id, args.events, args.rounds, args.partitions)
        finally:
            print(f"deleted the {delete_topics(bootstrap, [run_id])} topics named with {run_id}")


if __name__ == "__main__":
    os.environ.setdefault("GOVBUS_LOG_LEVEL", "WARNING")
    main()
