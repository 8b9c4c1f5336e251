"""What the normaliser's integration tests share: the workers they run, the traffic they publish and
how they read and check what came out."""

from __future__ import annotations

import logging
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import ConsumerGroupState, KafkaError, KafkaException, Message, TopicPartition
from kafka_offsets import end_offsets
from prometheus_client.parser import text_string_to_metric_families

from govbus import clients
from govbus.demo.dialect_samples import DialectSample, change_event, samples
from govbus.platform.components import Component
from govbus.platform.processes import free_port, is_alive, kill_process, start_process
from govbus.serde import WireDecoder, WireEncoder
from govbus.topic_names import canonical_topic, dead_letter_topic, value_subject
from govbus.topic_reader import read_topic
from streams.dead_letters import DeadLetter
from streams.dialects import DIALECT_HEADER, FIXES_HEADER, ITEMS, Dialect, dialects_for, fixes_from_header, get_dialect
from streams.normalising.settings import NormaliserSettings
from testsupport.cloud_events import check_change_event
from testsupport.connections import kafka_at, registry_at

log = logging.getLogger(__name__)

MODULE_WORKER = (sys.executable, "-m", "streams.normaliser")
CLI_WORKER = (sys.executable, "-m", "govbus.cli", "streams", "normalise")


# -- the worker processes ------------------------------------------------------------------------------------


def make_settings(kafka_bootstrap: str, registry_url: str, **overrides: Any) -> NormaliserSettings:
    """Settings of one test's normaliser: its own topic prefix and app id (consumer group, changelogs)."""
    suffix = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "kafka": kafka_at(kafka_bootstrap), "registry": registry_at(registry_url),
        "topic_prefix": f"govbus.test-{suffix}",
        "normaliser_app_id": f"normaliser-{suffix}", "normaliser_partitions": 3, "normaliser_items": ITEMS,
        **overrides,
    }
    return NormaliserSettings(**values)


def worker_env(settings: NormaliserSettings, **extra: str) -> dict[str, str]:
    """The environment of a worker process for ``settings`` (state dir and metrics port: per worker);
    ``GOVBUS_TEST_WORKER_LOG_LEVEL=DEBUG`` makes the workers log Quix's rebalances and checkpoints."""
    return {
        "GOVBUS_KAFKA__BOOTSTRAP": settings.kafka.bootstrap, "GOVBUS_REGISTRY__URL": settings.registry.url,
        "GOVBUS_TOPIC_PREFIX": settings.topic_prefix, "GOVBUS_NORMALISER_APP_ID": settings.normaliser_app_id,
        "GOVBUS_NORMALISER_PARTITIONS": str(settings.normaliser_partitions),
        "GOVBUS_NORMALISER_ITEMS": ",".join(settings.normaliser_items),
        "GOVBUS_STREAMS_COMMIT_INTERVAL": str(settings.streams_commit_interval),
        "GOVBUS_STREAMS_SESSION_TIMEOUT_MS": str(settings.streams_session_timeout_ms),
        "GOVBUS_STREAMS_TRANSACTION_TIMEOUT_MS": str(settings.streams_transaction_timeout_ms),
        "GOVBUS_LOG_LEVEL": os.environ.get("GOVBUS_TEST_WORKER_LOG_LEVEL", "INFO"), **extra,
    }


@dataclass
class Worker:
    """One normaliser worker process: its metrics port and its own state directory."""

    component: Component
    metrics_port: int
    state_dir: Path

    @property
    def name(self) -> str:
        return self.component.name

    @property
    def pid(self) -> int:
        return self.component.pid

    @property
    def log_path(self) -> Path:
        return self.component.log_path

    def alive(self) -> bool:
        return self.component.alive()

    def log_tail(self, lines: int = 25) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class NormaliserRun:
    """The worker processes a test started (each stopped or killed by PID); none may die on its own."""

    env: dict[str, str]
    directory: Path
    workers: list[Worker] = field(default_factory=list)

    def start(self, name: str, argv: Sequence[str] = MODULE_WORKER, state_dir: Path | None = None,
              metrics_port: int | None = None, extra_env: dict[str, str] | None = None) -> Worker:
        """A worker with its own state directory (``<directory>/state-<name>`` unless given) and metrics port
        (``extra_env``: settings of this worker only)."""
        state_dir = state_dir or self.directory / f"state-{name}"
        port = metrics_port or free_port()
        env = {**self.env, "GOVBUS_STREAMS_STATE_DIR": str(state_dir), "GOVBUS_NORMALISER_METRICS_PORT": str(port),
               **(extra_env or {})}
        log_path = self.directory / f"{name}.log"
        worker = Worker(Component(name, start_process(tuple(argv), log_path, env), log_path), port, state_dir)
        self.workers.append(worker)
        log.info("started normaliser worker %s (pid %d, metrics port %d, state %s)", name, worker.pid, port,
                 state_dir)
        return worker

    def kill(self, worker: Worker) -> None:
        """SIGKILL the worker's process group: no shutdown, no flush, no commit."""
        kill_process(worker.pid, timeout=10)
        assert not is_alive(worker.pid), f"worker {worker.name} survived SIGKILL"
        self.workers.remove(worker)
        log.info("killed normaliser worker %s (pid %d)", worker.name, worker.pid)

    def stop(self, worker: Worker) -> None:
        """SIGTERM (the worker commits and leaves the group), SIGKILL after 20 s."""
        worker.component.stop(timeout=20)
        assert not worker.alive(), f"worker {worker.name} (pid {worker.pid}) still runs"
        self.workers.remove(worker)

    def stop_all(self) -> None:
        """Stop every worker still listed (each one, even when another one will not stop)."""
        for worker in list(self.workers):
            worker.component.stop(timeout=20)
        running = [f"{w.name} (pid {w.pid})" for w in self.workers if w.alive()]
        self.workers = []
        assert not running, f"workers still running: {running}"

    def check_alive(self) -> None:
        """Fail (with the log's tail) if a worker died on its own: that is a failure now."""
        for worker in self.workers:
            if not worker.alive():
                raise AssertionError(f"the normaliser worker {worker.name} died on its own (log "
                                     f"{worker.log_path}):\n{worker.log_tail()}")


# -- topics, offsets and the group ---------------------------------------------------------------------------


def source_topics(prefix: str, items: Iterable[str] = ITEMS) -> list[str]:
    """Every topic the normaliser reads for ``items`` (department topic and dialect topics)."""
    return [dialect.topic(prefix) for item in items for dialect in dialects_for(item)]


def output_topics(prefix: str, items: Iterable[str] = ITEMS) -> list[str]:
    """The canonical and dead-letter topics of ``items``."""
    return [topic for item in items for topic in (canonical_topic(item, prefix), dead_letter_topic(item, prefix))]


def uncommitted(bootstrap: str, group: str, topics: Iterable[str]) -> dict[tuple[str, int], int]:
    """Per partition of ``topics``, the messages after the offset ``group`` committed (only those > 0)."""
    consumer = clients.consumer(kafka_at(bootstrap), group, {"enable.auto.commit": False})
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


def after_open_transactions(bootstrap: str, topics: Iterable[str]) -> int:
    """Messages of ``topics`` at or after the first record of a transaction still open (high watermark minus
    last stable offset): with one writer, what its open transaction holds, which read_committed readers
    cannot see until it commits or the broker aborts it."""
    topics = list(topics)
    stable = end_offsets(bootstrap, topics, "read_committed")
    return sum(end - stable[tp] for tp, end in end_offsets(bootstrap, topics).items())


def stable_members(bootstrap: str, group: str) -> int:
    """Members of consumer group ``group`` once it is stable (0 while it rebalances or is empty)."""
    admin = clients.admin(kafka_at(bootstrap))
    try:
        description = admin.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=10)
    except KafkaException:
        return 0
    return len(description.members) if description.state == ConsumerGroupState.STABLE else 0


def member_partitions(bootstrap: str, group: str, topics: set[str]) -> dict[str, set[tuple[str, int]]]:
    """Per member (client id and member id) of the group, the partitions of ``topics`` assigned to it."""
    admin = clients.admin(kafka_at(bootstrap))
    description = admin.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=10)
    return {f"{m.client_id}/{m.member_id}": {(tp.topic, tp.partition)
                                             for tp in (m.assignment.topic_partitions if m.assignment else [])
                                             if tp.topic in topics}
            for m in description.members}


def wait_for(condition: Callable[[], bool], timeout: float, what: str,
             state: Callable[[], str] | None = None, run: NormaliserRun | None = None,
             interval: float = 0.25) -> float:
    """Wait for ``condition`` (failing at once if a worker of ``run`` died); on timeout say what was awaited
    and, with ``state``, what was seen last. Returns the seconds waited."""
    started = time.monotonic()
    while not condition():
        if run is not None:
            run.check_alive()
        if time.monotonic() - started > timeout:
            seen = f"; last seen: {state()}" if state else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{seen}")
        time.sleep(interval)
    return time.monotonic() - started


def wait_all_committed(settings: NormaliserSettings, run: NormaliserRun, timeout: float) -> float:
    """Wait until the group committed every message of the source topics (all input consumed), and no
    transaction is open on the output topics: a killed worker's stays open until the broker aborts it
    (transaction timeout, then the broker's abort sweep), and read_committed readers see nothing after
    its first record until then, the survivor's committed outputs included."""
    behind: dict[tuple[str, int], int] = {}
    open_records = 0
    topics = source_topics(settings.topic_prefix, settings.normaliser_items)
    outputs = output_topics(settings.topic_prefix, settings.normaliser_items)

    def done() -> bool:
        nonlocal behind, open_records
        behind = uncommitted(settings.kafka.bootstrap, settings.normaliser_app_id, topics)
        open_records = after_open_transactions(settings.kafka.bootstrap, outputs) if not behind else -1
        return not behind and open_records == 0

    return wait_for(done, timeout, f"group {settings.normaliser_app_id} to commit all its input, no transaction open",
                    lambda: f"behind: {sum(behind.values())} in {sorted(behind)[:6]}; records after an open "
                            f"transaction: {open_records}", run, interval=0.5)


# -- the traffic -----------------------------------------------------------------------------------------------


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

    @property
    def good(self) -> bool:
        """Whether it is a sample that must become a canonical event (else a dead letter)."""
        return self.sample is not None and self.sample.expected is not None

    @property
    def identity(self) -> tuple[str, bytes, bytes]:
        """What its dead letter is recognised by: source topic, key and the original bytes."""
        return (self.topic, self.key, self.value)


class Encoders:
    """One WireEncoder per dialect topic (each registers the dialect's event schema)."""

    def __init__(self, registry_url: str, prefix: str) -> None:
        self._registry = clients.registry_client(registry_at(registry_url))
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


def forged_event(encoders: Encoders, dialect: Dialect, prefix: str, record_key: str, department: str) -> Sent:
    """A DELETE on ``dialect``'s topic whose envelope names ``department`` instead of the topic's owner."""
    forged = delete_event(encoders, dialect, prefix, record_key)
    assert forged.event is not None
    event = {**forged.event, "department": department}
    return Sent(forged.topic, f"forged-{record_key}".encode(), encoders.encode(dialect, event), event)


def _now() -> Any:
    import datetime as dt

    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def poison(prefix: str, encoders: Encoders, copies: int = 1) -> list[Sent]:
    """Undecodable messages: not Avro, an unknown schema id, an Avro value that is no envelope (``copies``
    of each kind, each with its own key and bytes)."""
    junk_schema = {"type": "record", "name": "Junk", "fields": [{"name": "x", "type": "string"}]}
    junk = encoders.encode_other(f"{prefix}.junk-value", junk_schema, {"x": "not an envelope"})
    out = []
    for copy in range(copies):
        tag = f"-{copy}" if copies > 1 else ""
        out += [
            Sent(get_dialect("enterprise_registration", "zhejiang-aic-v2").topic(prefix), f"poison-1{tag}".encode(),
                 f"this is not Avro{tag}".encode(), poison="wire_format"),
            Sent(get_dialect("identity_verification", "canonical").topic(prefix), f"poison-2{tag}".encode(),
                 f"\x00\x00\x0f\x42\x3fno such schema id{tag}".encode(), poison="wire_format"),
            Sent(get_dialect("tax_payment_certificate", "jiangsu-etax-v2").topic(prefix), f"poison-3{tag}".encode(),
                 junk + tag.encode(), poison="envelope"),
        ]
    return out


def produce(bootstrap: str, messages: Iterable[Sent]) -> int:
    """Produce each message with its key (acks=all); return how many the broker acknowledged."""
    producer = clients.producer(kafka_at(bootstrap), {"acks": "all", "enable.idempotence": True, "linger.ms": 5})
    acked = 0

    def delivered(error: KafkaError | None, _message: Message) -> None:
        nonlocal acked
        acked += error is None

    for message in messages:
        producer.produce(message.topic, key=message.key, value=message.value, on_delivery=delivered)
        producer.poll(0)
    producer.flush(60)
    return acked


class PacedProducer(threading.Thread):
    """Produces ``messages`` in batches of ``batch`` with ``pause`` seconds between them, in the background
    (acks=all, idempotent: every message once, in order per partition)."""

    def __init__(self, bootstrap: str, messages: Sequence[Sent], batch: int, pause: float) -> None:
        super().__init__(name="paced-producer", daemon=True)
        self._servers, self._messages, self._batch, self._pause = bootstrap, messages, batch, pause
        self.acked = 0
        self.failed: list[str] = []
        self.produced = 0
        self.seconds = 0.0
        self._stop_now = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        producer = clients.producer(kafka_at(self._servers), {"acks": "all", "enable.idempotence": True,
                             "linger.ms": 5})

        def delivered(error: KafkaError | None, _message: Message) -> None:
            if error is None:
                self.acked += 1
            else:
                self.failed.append(str(error))

        for start in range(0, len(self._messages), self._batch):
            if self._stop_now.is_set():
                break
            for message in self._messages[start:start + self._batch]:
                producer.produce(message.topic, key=message.key, value=message.value, on_delivery=delivered)
                self.produced += 1
            producer.poll(0)
            self._stop_now.wait(self._pause)
        producer.flush(60)
        self.seconds = time.monotonic() - started

    def abandon(self) -> None:
        """Stop producing (a failed test's clean-up) and wait for the thread."""
        self._stop_now.set()
        self.join(70)

    def finish(self, timeout: float = 120.0) -> None:
        """Wait until every message was produced; fail unless the broker acknowledged each one."""
        self.join(timeout)
        assert not self.is_alive(), "the producer did not finish"
        assert not self.failed and self.acked == len(self._messages), (self.acked, len(self._messages), self.failed[:3])


def interleave_duplicates(messages: list[Sent], duplicates: Iterable[Sent], rng: random.Random) -> list[Sent]:
    """``messages`` with each of ``duplicates`` (messages of it) re-sent again at a random later position."""
    order = list(messages)
    for duplicate in duplicates:
        first = next(index for index, message in enumerate(order) if message is duplicate)
        order.insert(rng.randint(first + 1, len(order)), duplicate)
    return order


# -- metrics -----------------------------------------------------------------------------------------------


def metric(port: int, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels`` (0 if none)."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))


def metric_samples(port: int, name: str) -> list[tuple[dict[str, str], float]]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return [(sample.labels, sample.value) for family in text_string_to_metric_families(text)
            for sample in family.samples if sample.name == name]


def counters(port: int, *names: str) -> str:
    """``name=value`` of each counter on the /metrics endpoint (for timeout messages)."""
    return ", ".join(f"{name}={metric_or_zero(port, name):g}" for name in names)


def metric_or_zero(port: int, name: str, **labels: str) -> float:
    """:func:`metric`, or 0 while the endpoint is not up yet."""
    try:
        return metric(port, name, **labels)
    except httpx.HTTPError:
        return 0.0


# -- reading and checking the outputs ------------------------------------------------------------------------


def read_canonical(settings: NormaliserSettings) -> dict[str, list[tuple[Message, dict[str, Any]]]]:
    """Event id -> every canonical message carrying it (of every item)."""
    decoder = WireDecoder(clients.registry_client(settings.registry))
    found: dict[str, list[tuple[Message, dict[str, Any]]]] = {}
    for item in settings.normaliser_items:
        for message in read_topic(settings.kafka, canonical_topic(item, settings.topic_prefix), timeout=60):
            event = decoder.decode(message.value()).value
            found.setdefault(str(event["event_id"]), []).append((message, event))
    return found


def read_dead_letters(settings: NormaliserSettings) -> list[Message]:
    prefix = settings.topic_prefix
    return [m for item in settings.normaliser_items
            for m in read_topic(settings.kafka, dead_letter_topic(item, prefix), timeout=60)]


def headers_of(message: Message) -> dict[str, bytes]:
    raw = message.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return {name: value for name, value in pairs if isinstance(value, bytes)}


def check_canonical(message: Message, event: dict[str, Any], sent: Sent, registry_url: str) -> None:
    """One canonical event against what its source event must become; read by the CloudEvents SDK, it has the
    canonical envelope's attributes (its canonical key as subject, its canonical schema)."""
    assert sent.event is not None and sent.sample is not None and sent.sample.expected is not None
    expected = sent.sample.expected
    record = event["record"]
    assert set(record) == set(expected)
    for name, value in expected.items():
        assert record[name] == value, (sent.sample.dialect, name, record[name], value)
    for name in ("data_item", "department", "source_system", "operation", "trace_id", "occurred_at", "published_at"):
        assert event[name] == sent.event[name], name
    assert event["record_key"] == sent.sample.key and message.key() == sent.sample.key.encode()
    headers = headers_of(message)
    assert headers[DIALECT_HEADER].decode() == sent.sample.dialect
    fixes = {(fix.field, fix.kind) for fix in fixes_from_header(headers[FIXES_HEADER])}
    assert fixes == sent.sample.expected_fixes, sent.sample.dialect
    check_change_event(message, event, registry_url)


def check_dead_letter(message: Message, sent: Sent) -> None:
    """One dead letter against the bad or poison message it came from."""
    letter = DeadLetter.from_headers(message.headers())
    assert message.value() == sent.value and message.key() == sent.key
    assert letter.source_topic == sent.topic and letter.source_offset >= 0 and letter.source_partition >= 0
    assert letter.reason
    if sent.poison:
        assert (letter.stage, letter.rule) == ("decode", sent.poison)
    else:
        assert sent.sample is not None and sent.sample.broken is not None
        assert (letter.stage, letter.field, letter.rule) == ("validate", *sent.sample.broken)
        assert headers_of(message)["govbus.dlq.event_id"].decode() == sent.event_id


def dead_letter_identity(message: Message) -> tuple[str, bytes, bytes]:
    """Source topic, key and original bytes of a dead letter (see :attr:`Sent.identity`)."""
    return (DeadLetter.from_headers(message.headers()).source_topic, message.key() or b"", message.value() or b"")


@dataclass(frozen=True)
class Tally:
    """Outputs against the inputs that must produce exactly one each."""

    what: str
    expected: int
    found: int
    lost: list[Any]
    duplicated: dict[Any, int]
    unexpected: list[Any]

    @property
    def numbers(self) -> tuple[int, int, int]:
        """(lost, duplicated, unexpected): inputs without output, extra copies, outputs of no such input."""
        return len(self.lost), sum(n - 1 for n in self.duplicated.values()), len(self.unexpected)

    def __str__(self) -> str:
        lost, duplicated, unexpected = self.numbers
        return (f"{self.what}: expected {self.expected}, found {self.found}: lost {lost}, duplicated {duplicated}, "
                f"unexpected {unexpected}")

    def detail(self, limit: int = 5) -> str:
        return (f"{self}; lost e.g. {self.lost[:limit]}; duplicated e.g. {list(self.duplicated.items())[:limit]}; "
                f"unexpected e.g. {self.unexpected[:limit]}")


def tally(what: str, expected: Iterable[Any], found: Iterable[Any]) -> Tally:
    """Compare the identities of the inputs that must produce one output each with those of the outputs."""
    wanted = set(expected)
    counts = Counter(found)
    return Tally(what, len(wanted), sum(counts.values()), [i for i in wanted if i not in counts],
                 {i: n for i, n in counts.items() if n > 1 and i in wanted},
                 [i for i, n in counts.items() if i not in wanted for _ in range(n)])


def check_every_record(settings: NormaliserSettings, inputs: Sequence[Sent]) -> tuple[Tally, Tally]:
    """Read the canonical and dead-letter topics and compare them record by record with ``inputs`` (re-sent
    duplicates included, which must produce nothing): each good input exactly once on a canonical topic (field
    by field as expected), each bad or poison one exactly once on a dead-letter topic (original bytes, reason)."""
    assert all(s.sample is not None or s.poison for s in inputs), "only samples and poison are classified here"
    good = {s.event_id: s for s in inputs if s.good}
    bad = {s.identity: s for s in inputs if not s.good}
    canonical = read_canonical(settings)
    dead = read_dead_letters(settings)
    on_canonical = tally("canonical", good, [event_id for event_id, copies in canonical.items() for _ in copies])
    on_dead = tally("dead letters", bad, [dead_letter_identity(message) for message in dead])
    for event_id, copies in canonical.items():
        if event_id in good:
            for message, event in copies:
                check_canonical(message, event, good[event_id], settings.registry.url)
    for message in dead:
        source = bad.get(dead_letter_identity(message))
        if source is not None:
            check_dead_letter(message, source)
    return on_canonical, on_dead
