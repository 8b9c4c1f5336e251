"""Profile builder throughput against a plain confluent-kafka pipe, in the same run, on the same events.

    .venv/bin/python -m bench.bench_profiles [--events 20000] [--rounds 2] [--partitions 3]

- input: a seeded scenario of N canonical change events for the items of the enterprise and
  person profiles (anchors, sides, updates, deletes, moves), produced once to the canonical topics;
- baseline: a plain confluent-kafka pipe consuming those N events from the canonical topics and
  producing each, unchanged, to one topic (acks=all, idempotence on); the time from its first
  message consumed to its last acknowledged;
- profile builder: ``python -m streams.profiles`` (a new app id per round, so it starts from the
  beginning) re-keying and building both profiles; the time from its first profile written to
  its last (broker timestamps of the profile messages, so the worker's start-up is left out).
  Reported: profile updates/s and input events/s, and their ratio to the pipe's events/s.
Starts and stops (by PID) what it needs: a local Kafka broker and a registry (unless
GOVBUS_KAFKA_BOOTSTRAP / GOVBUS_REGISTRY_URL are set) and the worker processes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from bench._platform import platform
from bench._report import spread
from govbus.platform.components import start_component
from govbus.testing.profile_inputs import CanonicalProducer, profile_scenario
from govbus.topic_reader import read_topic
from govbus.topics import TopicSpec, ensure_topics
from schemas.catalogue.profiles import load_profiles
from streams.profiles.topology import ProfileSettings, ProfileTopology, ensure_profile_topics

DEFINITIONS = load_profiles()


def anchors_for(events: int) -> int:
    """Anchors per profile giving about ``events`` events (the scenario makes ~25 per anchor of both)."""
    return max(10, events // 25)


def run_pipe(bootstrap: str, topics: list[str], target: str, total: int) -> float:
    """Seconds the plain pipe takes to copy ``total`` messages of ``topics`` to ``target``."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-pipe-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 10})
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                         "linger.ms": 5})
    partitions = [TopicPartition(t, p, 0) for t in topics
                  for p in consumer.list_topics(t, timeout=10).topics[t].partitions]
    consumer.assign(partitions)
    copied, started = 0, 0.0
    try:
        while copied < total:
            for message in consumer.consume(1000, 1.0):
                if message.error():
                    continue
                if not started:
                    started = time.perf_counter()
                while True:
                    try:
                        producer.produce(target, key=message.key(), value=message.value())
                        break
                    except BufferError:
                        producer.poll(0.01)
                copied += 1
            producer.poll(0)
        if producer.flush(60):
            raise RuntimeError("the pipe's producer did not deliver everything in 60 s")
        return time.perf_counter() - started
    finally:
        consumer.close()


def run_builder(bootstrap: str, registry_url: str, prefix: str, partitions: int, directory: Path,
                expected_inputs: int) -> tuple[int, float]:
    """(profile messages, seconds from the first to the last) of one fresh profile app."""
    app_id = f"bench-profiles-{uuid.uuid4().hex[:6]}"
    env = {"GOVBUS_KAFKA_BOOTSTRAP": bootstrap, "GOVBUS_REGISTRY_URL": registry_url, "GOVBUS_TOPIC_PREFIX": prefix,
           "GOVBUS_PROFILES_APP_ID": app_id, "GOVBUS_PROFILES_PARTITIONS": str(partitions),
           "GOVBUS_PROFILES_OUTPUT_PREFIX": f"{prefix}.{app_id}", "GOVBUS_PROFILES_DATA_DIR": str(directory / app_id),
           "GOVBUS_LOG_LEVEL": "WARNING"}
    settings = ProfileSettings.model_validate({k[len("GOVBUS_"):].lower(): v for k, v in env.items()})
    ensure_profile_topics(settings)
    topology = ProfileTopology(settings)
    outputs = [topology.output_topic(d.name) for d in DEFINITIONS]
    worker = start_component("profiles", "streams.profiles", env, directory / f"{app_id}.log")
    try:
        _wait_until_idle(bootstrap, app_id, [topology.input_topic(d.name) for d in DEFINITIONS]
                         + [topology.canonical_topic(i) for i in topology.source_items()], worker.alive)
    finally:
        worker.stop()
    stamps = [m.timestamp()[1] for topic in outputs for m in read_topic(bootstrap, topic, timeout=120)]
    return len(stamps), (max(stamps) - min(stamps)) / 1000


def _wait_until_idle(bootstrap: str, group: str, topics: list[str], alive: object, timeout: float = 900) -> None:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            assert callable(alive) and alive(), "the profile worker exited; see its log"
            try:
                ends = [TopicPartition(t, p, consumer.get_watermark_offsets(TopicPartition(t, p), timeout=10)[1])
                        for t in topics for p in consumer.list_topics(t, timeout=10).topics[t].partitions]
                committed = {(tp.topic, tp.partition): tp.offset for tp in consumer.committed(ends, timeout=10)}
            except KafkaException:  # a partition still electing its leader: ask again
                time.sleep(0.5)
                continue
            if all(max(committed[(tp.topic, tp.partition)], 0) >= tp.offset for tp in ends):
                return
            time.sleep(0.5)
        raise RuntimeError(f"the profile worker did not catch up in {timeout:.0f} s")
    finally:
        consumer.close()


def measure(bootstrap: str, registry_url: str, events: int, rounds: int, partitions: int) -> None:
    prefix = f"govbus.bench-profiles-{uuid.uuid4().hex[:6]}"
    scenario = profile_scenario(DEFINITIONS, anchors_per_profile=anchors_for(events), seed=2017)
    canonical = ProfileTopology(ProfileSettings(topic_prefix=prefix, profiles_partitions=partitions))
    topics = [canonical.canonical_topic(item) for item in canonical.source_items()]
    ensure_topics(bootstrap, [TopicSpec(t, partitions) for t in topics])
    CanonicalProducer(bootstrap, registry_url, prefix).produce(scenario)
    print(f"{len(scenario):,} canonical events for {anchors_for(events)} enterprises and as many persons, "
          f"{partitions} partitions; {rounds} interleaved rounds, medians; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    directory = Path(tempfile.mkdtemp(prefix="govbus-bench-profiles-"))
    pipe, updates, inputs = [], [], []
    for _ in range(rounds):
        target = f"{prefix}.pipe-{uuid.uuid4().hex[:6]}"
        ensure_topics(bootstrap, [TopicSpec(target, partitions)])
        pipe.append(len(scenario) / run_pipe(bootstrap, topics, target, len(scenario)))
        written, seconds = run_builder(bootstrap, registry_url, prefix, partitions, directory, len(scenario))
        updates.append(written / seconds)
        inputs.append(len(scenario) / seconds)
    baseline = statistics.median(pipe)
    print(f"  {'baseline: confluent-kafka consume + produce (copy)':<52} {baseline:>9,.0f} events/s  {spread(pipe)}")
    print(f"  {'profile builder: input events':<52} {statistics.median(inputs):>9,.0f} events/s  "
          f"{spread(inputs)}  ratio builder / baseline: {statistics.median(inputs) / baseline:.3f}")
    print(f"  {'profile builder: profile updates written':<52} {statistics.median(updates):>9,.0f} updates/s "
          f"{spread(updates)}  ratio updates / baseline events: {statistics.median(updates) / baseline:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000, help="about this many canonical events")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--partitions", type=int, default=3)
    args = parser.parse_args()
    with platform() as (bootstrap, registry_url):
        measure(bootstrap, registry_url, args.events, args.rounds, args.partitions)


if __name__ == "__main__":
    main()
