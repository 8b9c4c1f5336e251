"""What the normaliser's integration tests share: the traffic they publish and how they read results."""

from __future__ import annotations

import logging
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from prometheus_client.parser import text_string_to_metric_families

from govbus.platform.components import Component
from govbus.platform.processes import start_process
from govbus.serde import WireEncoder
from govbus.testing.supervision import self_stop_reason
from govbus.topic_names import value_subject
from streams.dialects import ITEMS, Dialect, dialects_for
from streams.dialects.synthetic import DialectSample, change_event, samples

log = logging.getLogger(__name__)

MODULE_WORKER = (sys.executable, "-m", "streams.normaliser")
CLI_WORKER = (sys.executable, "-m", "govbus.cli", "streams", "normalise")


@dataclass
class NormaliserRun:
    """The test's normaliser worker process, restarted as a supervisor would when it stops itself.

    The worker exits with code 70 after logging "stopping the worker without committing" when its
    guards trip (skipped offsets, a stalled table recovery: :mod:`streams.guards`); a deployment
    runs it under a supervisor that restarts it, and :meth:`supervise` does the same (with the
    same command, environment and metrics port). Any other death fails the test.
    """

    env: dict[str, str]
    directory: Path
    worker: Component | None = None
    argv: tuple[str, ...] = MODULE_WORKER
    restarts: list[str] = field(default_factory=list)

    def start(self, name: str, argv: Sequence[str] = MODULE_WORKER) -> Component:
        self.argv = tuple(argv)
        self.worker = self._spawn(name)
        return self.worker

    def _spawn(self, name: str) -> Component:
        log_path = self.directory / f"{name}.log"
        return Component(name, start_process(self.argv, log_path, self.env), log_path)

    def supervise(self) -> bool:
        """Restart the worker if it stopped itself without committing (True then); fail if it died otherwise."""
        worker = self.worker
        if worker is None or worker.alive():
            return False
        reason = self_stop_reason(worker.log_path)
        if reason is None:
            raise AssertionError(f"the normaliser worker {worker.name} died: see {worker.log_path}")
        self.restarts.append(f"{worker.name}: {reason}")
        log.warning("normaliser worker %s stopped itself without committing (%s); restarting it (log: %s)",
                    worker.name, self.restarts[-1], worker.log_path)
        self.worker = self._spawn(f"{worker.name}-r{len(self.restarts)}")
        return True

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop(timeout=20)
            assert not self.worker.alive()
            self.worker = None


def source_topics(prefix: str, items: Iterable[str] = ITEMS) -> list[str]:
    """Every topic the normaliser reads for ``items`` (department topic and dialect topics)."""
    return [dialect.topic(prefix) for item in items for dialect in dialects_for(item)]


def uncommitted(bootstrap: str, group: str, topics: Iterable[str]) -> dict[tuple[str, int], int]:
    """Per partition of ``topics``, the messages after the offset ``group`` committed (only those > 0)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        partitions = [TopicPartition(topic, partition) for topic in topics
                      for partition in consumer.list_topics(topic, timeout=10).topics[topic].partitions]
        behind = {}
        for tp in consumer.committed(partitions, timeout=10):
            end = consumer.get_watermark_offsets(tp, timeout=10)[1]
            if end > max(tp.offset, 0):
                behind[(tp.topic, tp.partition)] = end - max(tp.offset, 0)
        return behind
    finally:
        consumer.close()


@dataclass(frozen=True)
class Sent:
    """One message produced to a source topic, and what the normaliser must make of it."""

    topic: str
    key: bytes
    value: bytes
    event: dict[str, Any] | None = None
    sample: DialectSample | None = None
    poison: str = ""
    """For undecodable bytes: the rule they are dead-lettered with."""

    @property
    def event_id(self) -> str:
        return str(self.event["event_id"]) if self.event else ""


class Encoders:
    """One WireEncoder per dialect topic (each registers the dialect's event schema)."""

    def __init__(self, registry_url: str, prefix: str) -> None:
        self._registry = SchemaRegistryClient({"url": registry_url})
        self._prefix = prefix
        self._encoders: dict[str, WireEncoder] = {}

    def encode(self, dialect: Dialect, event: dict[str, Any]) -> bytes:
        topic = dialect.topic(self._prefix)
        if topic not in self._encoders:
            self._encoders[topic] = WireEncoder(self._registry, value_subject(topic), dialect.event_schema())
        return self._encoders[topic].encode(event)

    def encode_other(self, subject: str, schema: dict[str, Any], value: dict[str, Any]) -> bytes:
        return WireEncoder(self._registry, subject, schema).encode(value)


def dialect_traffic(encoders: Encoders, prefix: str, per_dialect: int, bad_share: float, seed: int,
                    items: Iterable[str] = ITEMS) -> list[Sent]:
    """Samples of every dialect of ``items`` as encoded change events, interleaved by dialect."""
    rng = random.Random(seed)
    sent = []
    for item in items:
        for dialect in dialects_for(item):
            for sample in samples(item, dialect.name, per_dialect, bad_share=bad_share, seed=seed):
                event = change_event(sample, dialect.department, rng)
                sent.append(Sent(dialect.topic(prefix), sample.key.encode(), encoders.encode(dialect, event),
                                 event, sample))
    rng.shuffle(sent)
    return sent


def delete_event(encoders: Encoders, dialect: Dialect, prefix: str, record_key: str) -> Sent:
    """A DELETE of ``record_key`` (as the local system spells it) in ``dialect``."""
    event = {"event_id": str(uuid.uuid4()), "data_item": dialect.item.name, "department": dialect.department,
             "source_system": dialect.name, "operation": "DELETE", "record_key": record_key,
             "occurred_at": _now(), "published_at": _now(), "trace_id": uuid.uuid4().hex, "record": None}
    return Sent(dialect.topic(prefix), record_key.encode(), encoders.encode(dialect, event), event)


def _now() -> Any:
    import datetime as dt

    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def produce(bootstrap: str, messages: Iterable[Sent]) -> int:
    """Produce each message with its key (acks=all); return how many the broker acknowledged."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5})
    acked = 0

    def delivered(error: KafkaError | None, _message: Message) -> None:
        nonlocal acked
        acked += error is None

    for message in messages:
        producer.produce(message.topic, key=message.key, value=message.value, on_delivery=delivered)
        producer.poll(0)
    producer.flush(60)
    return acked


def metric(port: int, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels`` (0 if none)."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))


def metric_samples(port: int, name: str) -> list[tuple[dict[str, str], float]]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return [(sample.labels, sample.value) for family in text_string_to_metric_families(text)
            for sample in family.samples if sample.name == name]


def wait_for(condition: Callable[[], bool], timeout: float, what: str,
             state: Callable[[], str] | None = None) -> None:
    """Wait for ``condition``; on timeout say what was awaited and, with ``state``, what was seen last."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            seen = f"; last seen: {state()}" if state else ""
            raise AssertionError(f"timed out waiting for {what}{seen}")
        time.sleep(0.5)


def counters(port: int, *names: str) -> str:
    """``name=value`` of each counter on the /metrics endpoint (for timeout messages)."""
    return ", ".join(f"{name}={metric_or_zero(port, name):g}" for name in names)


def metrics_up(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    except httpx.HTTPError:
        return False
    return True


def metric_or_zero(port: int, name: str) -> float:
    """:func:`metric`, or 0 while the endpoint is not up yet."""
    try:
        return metric(port, name)
    except httpx.HTTPError:
        return 0.0
