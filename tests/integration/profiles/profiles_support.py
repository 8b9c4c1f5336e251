"""Helpers of the profile tests: run workers as processes, wait for them, read and decode profiles."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastavro
from confluent_kafka import Consumer, ConsumerGroupState, KafkaException, Message, TopicPartition
from confluent_kafka.admin import AdminClient

from govbus.platform.components import Component, start_component
from govbus.platform.processes import free_port, is_alive, kill_process
from govbus.topic_reader import read_topic
from schemas.catalogue.profiles import ProfileDefinition
from streams.profiles.app import HEADER_EVENT_ID
from streams.profiles.state import avro_native
from streams.profiles.topology import ProfileSettings, ProfileTopology

OutputMessage = tuple[bytes, bytes | None, tuple[tuple[str, bytes], ...]]
"""(key, value or None for a tombstone, headers) of one profile message."""


@dataclass
class ProfileRun:
    """One profile app (app id, topics) and the worker processes started for it."""

    env: dict[str, str]
    directory: Path
    workers: list[Component] = field(default_factory=list)

    @property
    def settings(self) -> ProfileSettings:
        values: dict[str, Any] = {k[len("GOVBUS_"):].lower(): v for k, v in self.env.items()
                                  if k.startswith("GOVBUS_") and k != "GOVBUS_LOG_LEVEL"}
        return ProfileSettings.model_validate(values)

    @property
    def topology(self) -> ProfileTopology:
        return ProfileTopology(self.settings)

    @property
    def app_id(self) -> str:
        return self.env["GOVBUS_PROFILES_APP_ID"]

    def start(self, name: str = "worker") -> Component:
        """A worker process with its own metrics port, faust web port and data dir."""
        worker = self._spawn(name)
        self.workers.append(worker)
        return worker

    def _spawn(self, name: str) -> Component:
        env = {**self.env, "GOVBUS_PROFILES_METRICS_PORT": str(free_port()),
               "GOVBUS_STREAMS_STATE_DIR": str(self.directory / f"state-{name}")}
        worker = start_component(name, "streams.profiles", env, self.directory / f"{name}.log")
        worker.metrics_port = int(env["GOVBUS_PROFILES_METRICS_PORT"])  # type: ignore[attr-defined]
        return worker

    def live(self) -> Iterable[Component]:
        """The workers :func:`wait_for` checks are alive."""
        return list(self.workers)

    def kill9(self, worker: Component) -> None:
        """SIGKILL ``worker`` (no shutdown, no flush, no commit) and forget it."""
        kill9(worker)
        self.workers.remove(worker)

    def stop_all(self) -> None:
        for worker in self.workers:
            worker.stop(timeout=15)

    def source_topics(self) -> list[str]:
        topology = self.topology
        names = [d.name for d in self.settings.definitions()]
        topics = [topology.repartition_topic(name) for name in names] if self.settings.profiles_build else []
        if self.settings.profiles_rekey:
            topics += [topology.canonical_topic(item) for item in topology.source_items()]
        return topics


def profile_env(bootstrap: str, registry_url: str, prefix: str, **extra: str) -> dict[str, str]:
    return {"GOVBUS_KAFKA_BOOTSTRAP": bootstrap, "GOVBUS_REGISTRY_URL": registry_url,
            "GOVBUS_TOPIC_PREFIX": prefix, "GOVBUS_PROFILES_APP_ID": f"profiles-{uuid.uuid4().hex[:8]}",
            "GOVBUS_PROFILES_PARTITIONS": "3",
            "GOVBUS_LOG_LEVEL": "INFO", **extra}


def kill9(worker: Component) -> None:
    """SIGKILL the worker's process group: no shutdown, no flush, no commit."""
    kill_process(worker.pid, timeout=10)
    assert not is_alive(worker.pid), "the worker survived SIGKILL"


def end_offsets(bootstrap: str, topics: Iterable[str]) -> dict[tuple[str, int], int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"ends-{uuid.uuid4().hex}"})
    try:
        ends: dict[tuple[str, int], int] = {}
        for topic in topics:
            for partition in consumer.list_topics(topic, timeout=10).topics[topic].partitions:
                ends[(topic, partition)] = consumer.get_watermark_offsets(TopicPartition(topic, partition),
                                                                          timeout=10)[1]
        return ends
    finally:
        consumer.close()


def committed_lag(bootstrap: str, group: str, topics: list[str]) -> dict[tuple[str, int], int]:
    """Messages of each partition of ``topics`` after the offset ``group`` committed (only those > 0)."""
    ends = end_offsets(bootstrap, topics)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        committed = consumer.committed([TopicPartition(t, p) for t, p in ends], timeout=10)
        done = {(tp.topic, tp.partition): max(tp.offset, 0) for tp in committed}
        lag = {tp: end - done.get(tp, 0) for tp, end in ends.items()}
        return {tp: behind for tp, behind in lag.items() if behind > 0}
    finally:
        consumer.close()


def stable_members(bootstrap: str, group: str) -> int:
    """Members of consumer group ``group`` once it is stable (0 while it rebalances or is empty)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        description = admin.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=10)
    except KafkaException:
        return 0
    return len(description.members) if description.state == ConsumerGroupState.STABLE else 0


def member_partitions(bootstrap: str, group: str, topics: set[str]) -> list[set[tuple[str, int]]]:
    """Per member of the (stable) group, the partitions of ``topics`` assigned to it."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    description = admin.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=10)
    return [{(tp.topic, tp.partition) for tp in (m.assignment.topic_partitions if m.assignment else [])
             if tp.topic in topics} for m in description.members]


def wait_for(condition: Callable[[], bool], timeout: float, what: str, workers: Iterable[Component] = ()) -> float:
    started = time.monotonic()
    while not condition():
        for worker in workers:
            assert worker.alive(), f"worker {worker.name} died while waiting for {what}: see {worker.log_path}"
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.25)
    return time.monotonic() - started


def wait_caught_up(run: ProfileRun, bootstrap: str, timeout: float = 120.0) -> float:
    """Wait until the app has committed every message of its source topics, twice 1 s apart
    (the input topics grow while the re-key stage runs)."""
    topics = run.source_topics()
    behind: dict[tuple[str, int], int] = {}

    def settled() -> bool:
        nonlocal behind
        behind = committed_lag(bootstrap, run.app_id, topics)
        if behind:
            return False
        time.sleep(1.0)
        behind = committed_lag(bootstrap, run.app_id, topics)
        return not behind

    try:
        return wait_for(settled, timeout, f"{run.app_id} to commit all its input", run.live())
    except AssertionError as error:
        raise AssertionError(f"{error}; still behind: {behind}") from None


def output_messages(bootstrap: str, topic: str) -> list[OutputMessage]:
    return [message_tuple(m) for m in read_topic(bootstrap, topic, timeout=60)]


def message_tuple(message: Message) -> OutputMessage:
    pairs: list[tuple[str, bytes]] = list(message.headers() or [])  # type: ignore[arg-type]
    headers = tuple((k, bytes(v or b"")) for k, v in pairs)
    return (bytes(message.key() or b""), message.value(), headers)


def event_id(message: OutputMessage) -> str:
    return dict(message[2])[HEADER_EVENT_ID].decode()


class ProfileDecoder:
    def __init__(self, definition: ProfileDefinition) -> None:
        self.definition = definition
        self._schema = fastavro.parse_schema(definition.schema)

    def decode(self, value: bytes) -> dict[str, Any]:
        decoded = fastavro.schemaless_reader(io.BytesIO(value[5:]), self._schema, None)
        assert isinstance(decoded, dict)
        return decoded

    def content(self, value: bytes | None) -> dict[str, Any] | None:
        """The profile without ``event_id`` and ``caused_by``, Avro-native (as the expectations are)."""
        if value is None:
            return None
        decoded = self.decode(value)
        return dict(avro_native({k: v for k, v in decoded.items() if k not in ("event_id", "caused_by")}))

    def final_contents(self, messages: Iterable[OutputMessage]) -> dict[str, dict[str, Any] | None]:
        last: dict[str, bytes | None] = {}
        for key, value, _ in messages:
            last[key.decode()] = value
        return {key: self.content(value) for key, value in last.items()}


def duplicates_differing(messages: Iterable[OutputMessage]) -> dict[str, set[OutputMessage]]:
    """Event ids that appear with more than one (key, value, headers): must be empty."""
    seen: dict[str, set[OutputMessage]] = {}
    for message in messages:
        seen.setdefault(event_id(message), set()).add(message)
    return {eid: copies for eid, copies in seen.items() if len(copies) > 1}


def mismatches(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> list[str]:
    """Keys whose final profile differs (missing, extra or different), for assertion messages."""
    keys = set(expected) | set(actual)
    return sorted(k for k in keys if expected.get(k, "<missing>") != actual.get(k, "<missing>"))


def describe_mismatches(expected: Mapping[str, Any], actual: Mapping[str, Any], limit: int = 5) -> str:
    """For the first ``limit`` differing keys, which fields differ and how (for assertion messages)."""
    lines = []
    for key in mismatches(expected, actual)[:limit]:
        want, got = expected.get(key, "<missing>"), actual.get(key, "<missing>")
        if not isinstance(want, dict) or not isinstance(got, dict):
            lines.append(f"{key}: expected {str(want)[:200]}, got {str(got)[:200]}")
            continue
        for name in sorted(set(want) | set(got)):
            if want.get(name) != got.get(name):
                lines.append(f"{key}.{name}: expected {str(want.get(name))[:400]}, got {str(got.get(name))[:400]}")
    return "\n".join(lines)
