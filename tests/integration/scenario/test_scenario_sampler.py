"""The scenario's sampler (bench/scenario/sampler.py) against the real broker: end offsets per stage, a group's
lag, the RSS of tracked processes, and samples that go on (with errors) when the broker cannot be reached."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import TopicPartition

from bench.scenario.sampler import Sampler
from govbus import clients
from govbus.connection import KafkaConnection
from govbus.platform import processes
from govbus.topics import TopicSpec, ensure_topics
from testsupport.connections import kafka_at

WRITTEN = {0: 15, 1: 10}
"""records written per partition (25 in all)"""
COMMITTED = {0: 10}
"""the group's commits: 10 on partition 0, none on partition 1 (its lag there is from the log start)"""


def fill(kafka: KafkaConnection, topic: str, group: str) -> None:
    ensure_topics(kafka, [TopicSpec(topic, partitions=2)])
    producer = clients.producer(kafka)
    for partition, count in WRITTEN.items():
        for n in range(count):
            producer.produce(topic, value=f"{n}".encode(), partition=partition)
    assert producer.flush(30) == 0
    consumer = clients.consumer(kafka, group, {"enable.auto.commit": False})
    try:
        consumer.commit(offsets=[TopicPartition(topic, p, offset) for p, offset in COMMITTED.items()],
                        asynchronous=False)
    finally:
        consumer.close()


def samples(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def complete(path: Path) -> bool:
    """Whether the last sample written read everything."""
    written = samples(path) if path.exists() else []
    return len(written) >= 3 and written[-1]["errors"] == []


def test_samples_hold_end_offsets_lag_and_rss(kafka_bootstrap: str, unique_name: Callable[[str], str],
                                             tmp_path: Path) -> None:
    kafka, topic, group = kafka_at(kafka_bootstrap), unique_name("sampled"), unique_name("sampled-group")
    fill(kafka, topic, group)
    out = tmp_path / "samples.jsonl"
    with Sampler(kafka, out, stages={"department": [topic], "canonical": [unique_name("not-created")]},
                 consumers={"normaliser": (group, [topic]), "profiles": (unique_name("no-group"), [topic])},
                 pids={"tests": os.getpid()}, every=0.5):
        processes.wait_until(lambda: complete(out), 20, "a sample that read everything")

    ends, lags = {"department": 25, "canonical": 0}, {"normaliser": 25 - 10, "profiles": 25}
    written = samples(out)
    for sample in written:  # a read that failed (a group's coordinator still loading) leaves its part out
        assert sample["end_offsets"] in (ends, {})
        assert sample["lag_events"] == {name: lags[name] for name in sample["lag_events"]}
        assert sample["rss_bytes"]["tests"] > 10 * 1024 * 1024
    assert written[-1]["errors"] == []
    assert written[-1]["end_offsets"] == ends and written[-1]["lag_events"] == lags
    times = [sample["t"] for sample in written]
    assert times == sorted(times) and 0.4 < (times[-1] - times[0]) / (len(times) - 1)


def test_a_restarted_process_is_tracked_by_its_new_pid_and_a_gone_one_left_out(tmp_path: Path) -> None:
    sleeper = processes.start_process([sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / "sleep.log")
    try:
        sampler = Sampler(KafkaConnection(bootstrap=f"127.0.0.1:{processes.free_port()}"), tmp_path / "s.jsonl",
                          stages={}, consumers={}, pids={"tests": os.getpid()}, every=60)  # no broker read
        sampler.track("sleeper", sleeper)
        assert set(sampler.sample()["rss_bytes"]) == {"tests", "sleeper"}
        processes.stop_process(sleeper)
        assert set(sampler.sample()["rss_bytes"]) == {"tests"}
        sampler.track("sleeper", os.getpid())
        assert set(sampler.sample()["rss_bytes"]) == {"tests", "sleeper"}
    finally:
        processes.stop_process(sleeper)


def test_a_broker_that_is_down_gives_samples_with_errors_in_bounded_time(tmp_path: Path) -> None:
    nowhere = KafkaConnection(bootstrap=f"127.0.0.1:{processes.free_port()}")
    out = tmp_path / "samples.jsonl"
    started = time.monotonic()
    with Sampler(nowhere, out, stages={"department": ["t"]}, consumers={"normaliser": ("g", ["t"])},
                 pids={"tests": os.getpid()}, every=0.5, timeout=1.0):
        time.sleep(0.2)
    took = time.monotonic() - started

    written = samples(out)
    assert len(written) == 2  # the first, and the final one at close (the first took about the timeout)
    for sample in written:
        assert sample["end_offsets"] == {} and sample["lag_events"] == {}
        assert sample["rss_bytes"]["tests"] > 0
        assert len(sample["errors"]) == 1 and "listing the topics failed" in sample["errors"][0]
    assert took < 4.0
