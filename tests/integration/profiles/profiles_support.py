"""Helpers of the profile tests: run workers as processes, wait for them, read and decode profiles."""

from __future__ import annotations

import io
import time
import uuid
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastavro
import httpx
from confluent_kafka import ConsumerGroupState, KafkaException, Message, TopicPartition
from kafka_offsets import end_offsets
from prometheus_client.parser import text_string_to_metric_families

from govbus import clients
from govbus.platform.components import Component, start_component
from govbus.platform.processes import free_port, is_alive, kill_process
from govbus.serde import WireDecoder
from govbus.topic_reader import read_topic
from schemas.catalogue.profiles import HEADER_CAUSED_BY, HEADER_EVENT_ID, ProfileDefinition
from streams.profiles.app import HEADER_REMOVE, HEADER_SIDE, HEADER_VERSION, header_map
from streams.profiles.state import avro_native
from streams.profiles.topology import ProfileSettings, ProfileTopology
from testsupport.connections import kafka_at, registry_at
from testsupport.profile_inputs import CanonicalEvent, CanonicalProducer, ForwardRecord

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
        values: dict[str, Any] = {}
        for name, value in self.env.items():
            if name.startswith("GOVBUS_") and name != "GOVBUS_LOG_LEVEL":
                field, _, inner = name[len("GOVBUS_"):].lower().partition("__")
                if inner:  # a nested connection setting: GOVBUS_KAFKA__BOOTSTRAP
                    values.setdefault(field, {})[inner] = value
                else:
                    values[field] = value
        return ProfileSettings.model_validate(values)

    @property
    def topology(self) -> ProfileTopology:
        return ProfileTopology(self.settings)

    @property
    def app_id(self) -> str:
        return self.env["GOVBUS_PROFILES_APP_ID"]

    def start(self, name: str = "worker") -> Component:
        """A worker process with its own metrics port and state directory."""
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
        stop_workers(self)

    def source_topics(self) -> list[str]:
        topology = self.topology
        names = [d.name for d in self.settings.definitions()]
        topics = [topology.repartition_topic(name) for name in names] if self.settings.profiles_build else []
        if self.settings.profiles_rekey:
            topics += [topology.canonical_topic(item) for item in topology.source_items()]
        return topics


def stop_workers(*runs: ProfileRun) -> None:
    """Stop every worker of ``runs`` by PID (SIGTERM, SIGKILL after 15 s), all at the same time."""
    workers = [worker for run in runs for worker in run.workers]
    with ThreadPoolExecutor(max_workers=max(len(workers), 1)) as pool:
        list(pool.map(lambda worker: worker.stop(timeout=15), workers))


def profile_env(bootstrap: str, registry_url: str, prefix: str, **extra: str) -> dict[str, str]:
    return {"GOVBUS_KAFKA__BOOTSTRAP": bootstrap, "GOVBUS_REGISTRY__URL": registry_url,
            "GOVBUS_TOPIC_PREFIX": prefix, "GOVBUS_PROFILES_APP_ID": f"profiles-{uuid.uuid4().hex[:8]}",
            "GOVBUS_PROFILES_PARTITIONS": "3",
            "GOVBUS_LOG_LEVEL": "INFO", **extra}


def kill9(worker: Component) -> None:
    """SIGKILL the worker's process group: no shutdown, no flush, no commit."""
    kill_process(worker.pid, timeout=10)
    assert not is_alive(worker.pid), "the worker survived SIGKILL"


def committed_lag(bootstrap: str, group: str, topics: list[str]) -> dict[tuple[str, int], int]:
    """Records of each partition of ``topics`` after the offset ``group`` committed (only those > 0).

    A partition with a transaction still open (a killed worker's, until the broker aborts it) counts in
    full: nobody reads past it yet. A topic written in Kafka transactions (the repartition topics) ends in
    a commit marker, and a killed writer's aborted records stay in it: the group's committed offset stops
    before them, as there is nothing to process. So a partition whose end offset is past the committed one
    is read from there (read_committed): it counts only if a record comes back.
    """
    ends = end_offsets(bootstrap, topics)
    stable = end_offsets(bootstrap, topics, "read_committed")
    consumer = clients.consumer(kafka_at(bootstrap), group, {"enable.auto.commit": False})
    try:
        committed = consumer.committed([TopicPartition(t, p) for t, p in ends], timeout=10)
        done = {(tp.topic, tp.partition): max(tp.offset, 0) for tp in committed}
    finally:
        consumer.close()
    blocked = {tp: end - done.get(tp, 0) for tp, end in ends.items() if stable[tp] < end}
    gaps = {tp: (done.get(tp, 0), end) for tp, end in ends.items() if end > done.get(tp, 0) and tp not in blocked}
    return {**blocked, **(records_between(bootstrap, gaps) if gaps else {})}


def records_between(bootstrap: str, ranges: Mapping[tuple[str, int], tuple[int, int]],
                    timeout: float = 3.0) -> dict[tuple[str, int], int]:
    """Partitions with a committed record in [start, end) (1 each: reading stops at the first one);
    a partition not read to its end within ``timeout`` (an open transaction) counts its whole range."""
    consumer = clients.consumer(kafka_at(bootstrap), f"gaps-{uuid.uuid4().hex}",
                                {"enable.auto.commit": False, "enable.partition.eof": True})
    try:
        consumer.assign([TopicPartition(t, p, start) for (t, p), (start, _) in ranges.items()])
        open_ = dict(ranges)
        found: dict[tuple[str, int], int] = {}
        deadline = time.monotonic() + timeout
        while open_ and time.monotonic() < deadline:
            for message in consumer.consume(100, 0.1):
                tp = (message.topic(), message.partition())
                if message.error() is None and tp in open_:  # a record (end-of-partition events are errors)
                    found[tp] = 1
                    open_.pop(tp)
                    consumer.pause([TopicPartition(*tp)])
            if open_:  # read past the markers and aborted records to the end?
                for position in consumer.position([TopicPartition(t, p) for t, p in open_]):
                    tp = (position.topic, position.partition)
                    if position.offset >= open_[tp][1]:
                        open_.pop(tp)
        return {**found, **{tp: end - start for tp, (start, end) in open_.items()}}
    finally:
        consumer.close()


def stable_members(bootstrap: str, group: str) -> int:
    """Members of consumer group ``group`` once it is stable (0 while it rebalances or is empty)."""
    admin = clients.admin(kafka_at(bootstrap))
    try:
        description = admin.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=10)
    except KafkaException:
        return 0
    return len(description.members) if description.state == ConsumerGroupState.STABLE else 0


def member_partitions(bootstrap: str, group: str, topics: set[str]) -> list[set[tuple[str, int]]]:
    """Per member of the (stable) group, the partitions of ``topics`` assigned to it."""
    admin = clients.admin(kafka_at(bootstrap))
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
    return [message_tuple(m) for m in read_topic(kafka_at(bootstrap), topic, timeout=60)]


def message_tuple(message: Message) -> OutputMessage:
    pairs: list[tuple[str, bytes]] = list(message.headers() or [])  # type: ignore[arg-type]
    headers = tuple((k, bytes(v or b"")) for k, v in pairs)
    return (bytes(message.key() or b""), message.value(), headers)


def event_id(message: OutputMessage) -> str:
    return dict(message[2])[HEADER_EVENT_ID].decode()


def caused_by(message: OutputMessage) -> str:
    return dict(message[2])[HEADER_CAUSED_BY].decode()


def differences(expected: Iterable[Hashable], actual: Iterable[Hashable]) -> dict[str, int]:
    """Per item compared as a whole: ``lost`` (expected copies missing), ``duplicated`` (copies
    beyond the expected number of an expected item) and ``unexpected`` (items not expected at all)."""
    want, got = Counter(expected), Counter(actual)
    return {"lost": sum((want - got).values()),
            "duplicated": sum(n - want[item] for item, n in got.items() if item in want and n > want[item]),
            "unexpected": sum(n for item, n in got.items() if item not in want)}


def metric_samples(port: int, name: str, **labels: str) -> list[float]:
    """The samples ``name`` with ``labels`` on ``http://127.0.0.1:port/metrics``."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return [s.value for f in text_string_to_metric_families(text) for s in f.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]


def metric(port: int, name: str, **labels: str) -> float:
    """The sum of the samples ``name`` with ``labels`` on ``http://127.0.0.1:port/metrics``."""
    return sum(metric_samples(port, name, **labels))


def stale_forwards(worker: Component) -> float | None:
    """Forwards ``worker``'s build step skipped as already applied (None: /metrics did not answer)."""
    try:
        return metric(worker.metrics_port, "govbus_profile_inputs_total", outcome="stale")  # type: ignore[attr-defined]
    except httpx.HTTPError:
        return None


def consuming(worker: Component) -> bool:
    """Whether ``worker`` has input partitions with a fetch position (assigned, recovered, fetching):
    its consumer lag metric has samples then."""
    try:
        return bool(metric_samples(worker.metrics_port, "govbus_streams_consumer_lag_records"))  # type: ignore[attr-defined]
    except httpx.HTTPError:
        return False


def read_forwards(bootstrap: str, registry_url: str, topic: str, profile: str) -> list[ForwardRecord]:
    """The committed forwards of a repartition topic in (partition, offset) order, decoded as the
    build step reads them."""
    decoder = WireDecoder(clients.registry_client(registry_at(registry_url)))
    forwards = []
    for message in read_topic(kafka_at(bootstrap), topic, timeout=60):
        headers = header_map(message.headers())
        envelope = decoder.decode(message.value()).value
        remove = headers[HEADER_REMOVE] == "1"
        record = None if remove or envelope.get("record") is None else avro_native(envelope["record"])
        forwards.append(ForwardRecord(
            profile=profile, partition=message.partition() or 0, offset=message.offset() or 0,
            key=(message.key() or b"").decode(), side=headers[HEADER_SIDE], version=int(headers[HEADER_VERSION]),
            remove=remove, event_id=str(envelope["event_id"]), record_key=str(envelope["record_key"]),
            record=record))
    return forwards


class Feeder:
    """Produces ``events`` to the canonical topics a chunk at a time, at most one chunk per ``every`` s."""

    def __init__(self, producer: CanonicalProducer, events: Sequence[CanonicalEvent], size: int) -> None:
        self._producer = producer
        self.chunks = [events[start:start + size] for start in range(0, len(events), size)]
        self.fed = 0
        self._last = 0.0

    @property
    def remaining(self) -> int:
        return len(self.chunks) - self.fed

    def feed(self, every: float, keep: int = 0) -> bool:
        """Produce the next chunk if ``every`` seconds passed since the last one and more than ``keep``
        chunks remain; whether it did."""
        if self.remaining <= keep or time.monotonic() - self._last < every:
            return False
        self._producer.produce(self.chunks[self.fed])
        self.fed += 1
        self._last = time.monotonic()
        return True


class OutputWatch:
    """Counts the messages written to ``topics`` as they are written, uncommitted ones included, to
    SIGKILL a worker at a chosen point of its output (and, with exactly-once, inside a transaction).

    It reads records with ``read_uncommitted``, on purpose (the only reader here that does): a
    read_committed reader sees the writes only at each commit, so the kills would all come just after one.
    """

    def __init__(self, bootstrap: str, topics: Iterable[str]) -> None:
        self._consumer = clients.consumer(kafka_at(bootstrap), f"watch-{uuid.uuid4().hex}", {
            "enable.auto.commit": False, "isolation.level": "read_uncommitted", "fetch.wait.max.ms": 10})
        partitions = [TopicPartition(topic, p, 0) for topic in topics
                      for p in self._consumer.list_topics(topic, timeout=10).topics[topic].partitions]
        self._consumer.assign(partitions)
        self.count = 0

    def poll(self, timeout: float = 0.01) -> int:
        """Messages seen so far (aborted ones included)."""
        self.count += sum(1 for m in self._consumer.consume(500, timeout) if m.error() is None)
        return self.count

    def drain(self, quiet: float = 0.3) -> int:
        """Read until nothing new came for ``quiet`` s (after a kill: what the dead worker had written)."""
        last, since = self.poll(0.05), time.monotonic()
        while time.monotonic() - since < quiet:
            if self.poll(0.05) != last:
                last, since = self.count, time.monotonic()
        return self.count

    def close(self) -> None:
        self._consumer.close()


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
