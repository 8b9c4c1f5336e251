"""`govbus dev up --brokers 3`: a three-node KRaft cluster on free ports in a private home, and a node lost.

One test, since a cluster takes ~25 s to start: the metadata lists three brokers, a topic made by
:func:`govbus.topics.ensure_topics` has 3 replicas and ``min.insync.replicas=2``; then the node leading a
partition is killed (SIGKILL) while an idempotent ``acks=all`` producer writes and a consumer reads, and every
record is read exactly once; the node started again (:func:`govbus.platform.dev.restart_node`) rejoins every
partition's in-sync replicas. The pause the producer saw and the rejoin time are logged.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, Message
from confluent_kafka.admin import ConfigResource, ResourceType

from govbus import clients
from govbus.connection import KafkaConnection
from govbus.platform import dev
from govbus.platform.processes import free_port, is_alive, kill_process
from govbus.settings import CLUSTER_PORT_STEP, PlatformSettings
from govbus.topics import TopicSpec, ensure_topics
from testsupport.connections import without_session
from testsupport.ports import cluster_port

log = logging.getLogger(__name__)
RECORDS = 3000
PARTITIONS = 3


def _govbus(env: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "govbus.cli", *args], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.fixture
def cluster_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {**without_session(dict(os.environ)), "GOVBUS_HOME": str(tmp_path / "home"),
           "GOVBUS_KAFKA_PORT": str(cluster_port()), "GOVBUS_CONTROLLER_PORT": str(cluster_port()),
           "GOVBUS_REGISTRY_PORT": str(free_port()), "GOVBUS_EXPORTER_METRICS_PORT": str(free_port())}
    yield env
    _govbus(env, "dev", "down")  # stops by PID every node the state names (a restarted node's new PID too)


def _settings(env: dict[str, str]) -> PlatformSettings:
    return PlatformSettings(home=Path(env["GOVBUS_HOME"]), kafka_port=int(env["GOVBUS_KAFKA_PORT"]),
                            controller_port=int(env["GOVBUS_CONTROLLER_PORT"]),
                            registry_port=int(env["GOVBUS_REGISTRY_PORT"]), dev_brokers=3)


def _min_insync(admin_connection: KafkaConnection, topic: str) -> str:
    resource, admin = ConfigResource(ResourceType.TOPIC, topic), clients.admin(admin_connection)
    configs = admin.describe_configs([resource])[resource].result(timeout=30)  # ``admin`` kept until answered
    return str(configs["min.insync.replicas"].value)


class Writes:
    """Records written by an idempotent acks=all producer: when each was sent and how long its ack took."""

    def __init__(self) -> None:
        self.sent: dict[int, float] = {}
        self.latency: dict[int, float] = {}
        self.acked_at: list[float] = []
        self.errors: list[str] = []

    def on_delivery(self, error: KafkaError | None, message: Message) -> None:
        number = int(message.value() or b"-1")
        now = time.monotonic()
        if error is not None:
            self.errors.append(error.name())
            return
        self.latency[number] = now - self.sent[number]
        self.acked_at.append(now)

    def largest_gap(self) -> float:
        times = sorted(self.acked_at)
        return max((b - a for a, b in pairwise(times)), default=0.0)


def _read(connection: KafkaConnection, topic: str, seen: Counter[bytes], stop: threading.Event) -> None:
    consumer = clients.consumer(connection, f"{topic}-reader", {"auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    try:
        while not stop.is_set():
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                seen[message.value() or b""] += 1
    finally:
        consumer.close()


def _write_while_killing(connection: KafkaConnection, topic: str, victim_pid: int) -> tuple[Writes, float]:
    """Write :data:`RECORDS` records, one every 2 ms, SIGKILLing ``victim_pid`` after a third; when it died."""
    writes, producer = Writes(), clients.producer(connection, {"linger.ms": 1})
    killed_at = 0.0
    for number in range(RECORDS):
        writes.sent[number] = time.monotonic()
        producer.produce(topic, key=str(number % 97).encode(), value=str(number).encode(),
                         on_delivery=writes.on_delivery)
        producer.poll(0)
        if number == RECORDS // 3:
            killed_at = time.monotonic()
            kill_process(victim_pid)
        time.sleep(0.002)
    assert producer.flush(90) == 0, "every record acknowledged"
    return writes, killed_at


def _rejoined(connection: KafkaConnection, topic: str, node_id: int) -> bool:
    partitions = clients.admin(connection).list_topics(topic, timeout=10).topics[topic].partitions.values()
    return all(node_id in p.isrs and len(p.isrs) == 3 for p in partitions)


@pytest.mark.slow
def test_three_node_cluster_replicates_and_survives_a_killed_node(cluster_env: dict[str, str]) -> None:
    started = time.monotonic()
    up = _govbus(cluster_env, "dev", "up", "--brokers", "3")
    up_seconds = time.monotonic() - started
    assert up.returncode == 0, up.stderr
    status = json.loads(_govbus(cluster_env, "dev", "status", "--json").stdout)
    assert status["running"] is True
    ports = [int(cluster_env["GOVBUS_KAFKA_PORT"]) + n * CLUSTER_PORT_STEP for n in range(3)]
    assert status["kafka_bootstrap"] == ",".join(f"127.0.0.1:{port}" for port in ports)
    assert [n["node_id"] for n in status["kafka_nodes"]] == [1, 2, 3] and all(n["alive"] for n in status["kafka_nodes"])
    assert status["kafka_pid"] == status["kafka_pids"][0]
    again = _govbus(cluster_env, "dev", "up")  # the size left at its default: whatever runs is used
    assert again.returncode == 0 and "already running" in again.stderr
    other = _govbus(cluster_env, "dev", "up", "--brokers", "1")
    assert other.returncode == 1 and "runs 3 Kafka node(s), not 1" in other.stderr
    rss = [int(next(line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                    if line.startswith("VmRSS"))) // 1024 for pid in status["kafka_pids"]]

    settings = _settings(cluster_env)
    state = dev.load_state(settings)
    assert state is not None
    admin = state.kafka
    assert sorted(clients.admin(admin).list_topics(timeout=10).brokers) == [1, 2, 3]
    for internal in ("_govbus_schemas", "__consumer_offsets"):  # the registry's log; the groups' offsets
        assert _min_insync(admin, internal) == "2"

    topic = "cluster-fault"
    ensure_topics(admin, [TopicSpec(topic, PARTITIONS)])
    partitions = clients.admin(admin).list_topics(topic, timeout=10).topics[topic].partitions
    assert all(len(p.replicas) == 3 for p in partitions.values())
    assert _min_insync(admin, topic) == "2"

    victim = partitions[0].leader
    seen: Counter[bytes] = Counter()
    stop = threading.Event()
    reader = threading.Thread(target=_read, args=(admin, topic, seen, stop), daemon=True)
    reader.start()
    writes, killed_at = _write_while_killing(admin, topic, dev.node_pid(settings, victim))
    deadline = time.monotonic() + 60
    while sum(seen.values()) < RECORDS and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # a duplicate would arrive after the last record
    stop.set()
    reader.join(30)

    expected = {str(n).encode() for n in range(RECORDS)}
    assert writes.errors == []
    assert [len(expected - set(seen)), sum(c - 1 for c in seen.values() if c > 1), len(set(seen) - expected)] == [
        0, 0, 0], "lost, duplicated, unexpected"

    restarted = time.monotonic()
    new_pid, answered = dev.restart_node(settings, victim)
    while not _rejoined(admin, topic, victim):
        assert time.monotonic() - restarted < 60, "the restarted node rejoins the in-sync replicas"
        time.sleep(0.2)
    rejoin_seconds = time.monotonic() - restarted
    status = json.loads(_govbus(cluster_env, "dev", "status", "--json").stdout)
    # every node, not "running": the exporter's admin client may abort in librdkafka when a node is killed
    assert all(n["alive"] for n in status["kafka_nodes"]) and status["kafka_pids"][victim - 1] == new_pid
    assert is_alive(new_pid)

    measured = {"up_seconds": round(up_seconds, 1), "kafka_ready_seconds": status["kafka_startup_seconds"],
                "rss_mib": rss, "killed_node": victim,
                "max_ack_latency_seconds": round(max(writes.latency[n] for n in range(RECORDS // 3, RECORDS)), 2),
                "largest_ack_gap_seconds": round(writes.largest_gap(), 2),
                "kill_to_last_write_seconds": round(max(writes.sent.values()) - killed_at, 2),
                "restart_answered_seconds": round(answered, 1), "rejoin_seconds": round(rejoin_seconds, 1)}
    log.info("three-node cluster measured", extra=measured)
    print(f"three-node cluster measured: {measured}")
