"""The stream processors' engine: Quix Streams applications with Kafka transactions, run as workers.

Both processors (:mod:`streams.normaliser`, :mod:`streams.profiles`) are Quix Streams
``Application`` objects built here from one :class:`EngineSettings`, so they share what the
guarantees rest on:

1. **Exactly-once** (``processing_guarantee="exactly-once"``): every message a processor writes
   (outputs, dead letters, forwards to a repartition topic, state changelogs) is produced inside
   a Kafka transaction that also carries the input offsets; the transaction commits every
   ``commit_interval`` seconds. A worker killed at any point leaves an open transaction that the
   broker aborts (or the next worker's producer fences): read_committed readers never see its
   writes, and the next owner of the partitions starts from the last committed offsets with the
   state that was committed with them. A worker evicted from the group (a "zombie") cannot commit
   either: its ``send_offsets_to_transaction`` carries a stale group generation and is refused.
2. **Readers** of the inputs (and of the changelogs, at recovery) use ``isolation.level =
   read_committed``, so a processor downstream of another one sees only committed records.
3. **Commit interval**: a read_committed reader sees a record only when its transaction commits,
   so the interval bounds publish-to-output latency from below, and each commit costs a few
   round trips to the broker (p50 6 ms here, more when the broker is short of CPU; nothing is
   processed meanwhile). ``GOVBUS_STREAMS_COMMIT_INTERVAL`` (default 0.02 s) is chosen for
   latency: a record waits at most one interval plus a commit, when the worker keeps up with its
   input (target p99 <= 50 ms publish-to-canonical; ``bench/bench_latency`` measures it). While
   the worker is behind (for five transactions in a row it waited for input less than
   ``GOVBUS_STREAMS_BACKLOG_IDLE_SHARE`` of the time: records were always ready) their latency is
   the backlog's anyway, so the next transaction runs for ``GOVBUS_STREAMS_BACKLOG_COMMIT_INTERVAL``
   (default 0.5 s) instead: a catching-up worker does not spend a third of its time committing
   (:class:`CommitPacer`). ``bench/bench_normaliser`` prints what each interval costs.
4. **Metrics** (:class:`EngineMetrics`): transaction commits and aborts, and consumer lag per input
   partition computed when /metrics is scraped.

:func:`run_worker` serves /metrics and runs the application until SIGTERM or SIGINT (Quix stops
processing, commits the current transaction and leaves the group). An unexpected error stops the
worker with a non-zero exit code and nothing of the current transaction committed: run it under a
supervisor (systemd ``Restart=on-failure``, a Kubernetes Deployment) and it resumes where the last
commit left off.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from confluent_kafka import TopicPartition
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import Field
from quixstreams import Application
from quixstreams.dataframe import StreamingDataFrame
from quixstreams.models import Topic
from quixstreams.state import State
from quixstreams.state.rocksdb import RocksDBOptions

from govbus.clients.kafka import READ_COMMITTED
from govbus.clients.stream import stream_application
from govbus.settings import ServiceSettings
from streams.state_recovery import (
    BROKER_ABORT_CHECK_SECONDS,
    lock_state_dir,
    retry_early_seeks,
    uncommitted_end,
    wait_for_settled_changelogs,
    worker_transactional_id,
)

log = logging.getLogger(__name__)

def _default_state_dir() -> Path:
    return Path.home() / ".govbus" / "state"


class EngineSettings(ServiceSettings):
    """What every stream processor shares (env ``GOVBUS_STREAMS_*``)."""

    streams_commit_interval: float = Field(
        default=0.02, gt=0, le=60,
        description="seconds between transaction commits: outputs become visible to readers at each commit "
                    "(latency), and each commit costs broker round trips (throughput)")
    streams_backlog_commit_interval: float = Field(
        default=0.5, gt=0, le=60,
        description="seconds between transaction commits while the worker is behind: a backlog's latency "
                    "is its own, and fewer commits let it catch up faster (equal to the commit interval: off)")
    streams_backlog_idle_share: float = Field(
        default=0.1, ge=0, le=1,
        description="a worker that waited for input less than this share of a transaction's time is behind, "
                    "and commits at the backlog interval (0: never)")
    streams_state_dir: Path = Field(default_factory=_default_state_dir,
                                    description="RocksDB state of this worker (one directory per worker)")
    streams_session_timeout_ms: int = Field(
        default=10_000, ge=6_000, le=300_000,
        description="how long the group waits for a silent worker before moving its partitions")
    streams_transaction_timeout_ms: int = Field(
        default=10_000, ge=1_000, le=900_000,
        description="the broker aborts a transaction left open this long (a killed worker's): until then, "
                    "read_committed readers of its output partitions wait")


def changelog_topic(group: str, source: str, store: str = "default") -> str:
    """Quix Streams' name for the changelog of ``store`` of the step reading ``source`` in ``group``."""
    return f"changelog__{group}--{source}--{store}"


ROCKSDB_OPTIONS = RocksDBOptions(write_buffer_size=64 * 1024, max_write_buffer_number=2,
                                 target_file_size_base=8 * 1024 * 1024, block_cache_size=16 * 1024 * 1024)
"""The stores' RocksDB sizes. Quix's defaults (64 MiB memtables, three of them, per store partition, and a 1 GiB
block cache) are for a server of its own; a worker here holds dozens of store partitions, each written about a KB a
second, so its memtables would fill (and its RSS grow) for hours before the first flush. Measured at 400 records/s:
with 256 KiB memtables a normaliser worker still grew 18 % over 10 minutes, its memtables filling; 64 KiB ones flush
within about a minute. The block cache holds what the deduplication reads back."""


def build_application(settings: EngineSettings, group: str, collector: CollectorRegistry,
                      processor: str, loglevel: str = "INFO") -> Application:
    """A Quix application with exactly-once processing for consumer group ``group`` (its state in
    ``<streams_state_dir>/<group>``), its transactions counted and paced (:class:`EngineMetrics` on
    ``collector``, labelled ``processor``; :class:`CommitPacer`)."""
    state_dir = settings.streams_state_dir
    lock_state_dir(group, state_dir)
    interval = settings.streams_commit_interval
    app = stream_application(
        settings.kafka,
        consumer_group=group,
        processing_guarantee="exactly-once",
        commit_interval=interval,
        auto_offset_reset="earliest",
        state_dir=state_dir,
        # the poll waits at most this long when the inputs are idle; the commit is checked after each poll
        consumer_poll_timeout=min(interval, 0.1),
        consumer_extra_config={**READ_COMMITTED,
                               # names the worker in the group's description (which process holds what)
                               "client.id": f"{group}-{socket.gethostname()}-{os.getpid()}",
                               # state recovery asks for each changelog partition's end offset in turn, and
                               # each answer waited behind an idle fetch (librdkafka's default 500 ms): a
                               # worker with 36 store partitions took 22 s to start; 6 s with this
                               "fetch.wait.max.ms": 25,
                               "session.timeout.ms": settings.streams_session_timeout_ms,
                               "heartbeat.interval.ms": max(settings.streams_session_timeout_ms // 5, 1000)},
        producer_extra_config={"linger.ms": 2, "transaction.timeout.ms": settings.streams_transaction_timeout_ms,
                               # the same on every restart of this worker: fences its predecessor's open transaction
                               "transactional.id": worker_transactional_id(group, state_dir)},
        loglevel=loglevel.upper(),
        # every topic, changelogs included, is created by the processor's own topic list first (in one
        # batch: Quix creates missing ones one at a time, a second each); this is only the fallback
        auto_create_topics=True,
        rocksdb_options=ROCKSDB_OPTIONS,
    )
    retry_early_seeks(app._consumer)
    settle_limit = settings.streams_transaction_timeout_ms / 1000 + BROKER_ABORT_CHECK_SECONDS + 5
    wait_for_settled_changelogs(app._consumer, uncommitted_end(settings.kafka), settle_limit)
    EngineMetrics(collector, processor).instrument(app, CommitPacer(app, settings))
    return app


class EngineMetrics:
    """Transaction commits and aborts of one worker, and its consumer lag (records) per input partition."""

    def __init__(self, registry: CollectorRegistry, processor: str) -> None:
        self.commits = Counter("govbus_streams_transaction_commits", "Kafka transactions committed",
                               ["processor"], registry=registry).labels(processor=processor)
        self.aborts = Counter("govbus_streams_transaction_aborts",
                              "Kafka transactions aborted with messages in them (their writes are discarded)",
                              ["processor"], registry=registry).labels(processor=processor)
        self.lag = PartitionLag(processor)
        registry.register(self.lag)
        self.commit_interval = Gauge("govbus_streams_commit_interval_seconds",
                                     "Seconds the current transaction runs before it commits (longer while behind)",
                                     ["processor"], registry=registry).labels(processor=processor)

    def instrument(self, app: Application, pacer: CommitPacer | None = None) -> None:
        """Count the application's transaction commits and aborts; read its consumer for lag; after
        each commit let ``pacer`` set the next transaction's length.

        Quix has no hook for transaction outcomes, so its producer's produce, commit and abort methods
        are wrapped (a test checks that the counters move: an upgrade that renames them fails it).
        """
        producer = app._producer
        produce, commit, abort = producer.produce, producer.commit_transaction, producer.abort_transaction
        written = [False]  # whether the open transaction holds a message: Quix also aborts empty ones when idle

        def noted_produce(*args: Any, **kwargs: Any) -> Any:
            written[0] = True
            return produce(*args, **kwargs)

        def counted_commit(*args: Any, **kwargs: Any) -> Any:
            result = commit(*args, **kwargs)
            written[0] = False
            self.commits.inc()
            if pacer is not None:
                self.commit_interval.set(pacer.pace())
            return result

        def counted_abort(*args: Any, **kwargs: Any) -> Any:
            result = abort(*args, **kwargs)
            if written[0]:
                self.aborts.inc()
            written[0] = False
            return result

        producer.produce = noted_produce  # type: ignore[method-assign]
        producer.commit_transaction = counted_commit  # type: ignore[method-assign]
        producer.abort_transaction = counted_abort  # type: ignore[method-assign]
        self.lag.consumer = app._consumer


class PartitionLag(Collector):
    """``govbus_streams_consumer_lag_records{processor,topic,partition}``: records after the worker's position.

    Computed at scrape time from the consumer's position and the high watermark of its last fetch
    (no broker request); changelog partitions (read only during recovery) are left out. An input
    written by a transactional producer has commit markers, which count as records here until the
    consumer moves past them.
    """

    def __init__(self, processor: str, consumer: Any = None) -> None:
        self.processor = processor
        self.consumer = consumer
        self._last: dict[tuple[str, int], int] = {}

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily("govbus_streams_consumer_lag_records",
                                   "Records after the worker's position, per input partition",
                                   labels=["processor", "topic", "partition"])
        for (topic, partition), lag in sorted(self._measure().items()):
            family.add_metric([self.processor, topic, str(partition)], lag)
        yield family

    def _measure(self) -> dict[tuple[str, int], int]:
        # Quix creates its librdkafka consumer on first use, without a lock: leave that to the main thread
        if self.consumer is None or getattr(self.consumer, "_inner_consumer", True) is None:
            return self._last
        try:
            assigned = [tp for tp in self.consumer.assignment() if not tp.topic.startswith("changelog__")]
            lags = {}
            for tp in self.consumer.position(assigned):
                _, high = self.consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), cached=True)
                if high >= 0 and tp.offset >= 0:
                    lags[(tp.topic, tp.partition)] = max(high - tp.offset, 0)
            self._last = lags
        except Exception as error:  # a scrape during a rebalance: report what was known
            log.debug("consumer lag not measured: %r", error)
        return self._last


class CommitPacer:
    """Sets how long the next transaction runs: the commit interval, or the backlog interval while behind.

    "Behind" is measured without a broker request: the share of a transaction's time the worker
    spent waiting in the consumer's poll for input. A caught-up worker waits for each next record;
    one with a backlog finds records ready and hardly waits. One short transaction can hardly wait
    by chance (seen: 5 of 70 transactions of a caught-up worker at 300 events/s), so the worker is
    behind only after :data:`BUSY_TRANSACTIONS` such transactions in a row, and caught up again
    after the first one that waited. Quix builds each checkpoint (one transaction) with the
    processing context's ``commit_interval``; :meth:`pace` runs after each commit, before the next
    checkpoint is built.
    """

    BUSY_TRANSACTIONS = 5

    def __init__(self, app: Application, settings: EngineSettings, clock: Callable[[], float] = time.perf_counter
                 ) -> None:
        self._context = app._processing_context
        self._interval = settings.streams_commit_interval
        self._backlog_interval = max(settings.streams_backlog_commit_interval, self._interval)
        self._idle_share = settings.streams_backlog_idle_share
        self._clock = clock
        self._since = clock()
        self._waited = 0.0
        self._busy_in_a_row = 0
        consumer = app._consumer
        poll_row = consumer.poll_row

        def timed_poll_row(*args: Any, **kwargs: Any) -> Any:
            started = clock()
            try:
                return poll_row(*args, **kwargs)
            finally:
                self._waited += clock() - started

        consumer.poll_row = timed_poll_row  # type: ignore[method-assign]

    def pace(self) -> float:
        """The next transaction's length (and set it): long if the last one hardly waited for input."""
        now = self._clock()
        elapsed, waited = now - self._since, self._waited
        self._since, self._waited = now, 0.0
        busy = elapsed > 0 and waited < self._idle_share * elapsed
        self._busy_in_a_row = self._busy_in_a_row + 1 if busy else 0
        behind = self._busy_in_a_row >= self.BUSY_TRANSACTIONS
        interval = self._backlog_interval if behind else self._interval
        self._context.commit_interval = interval
        return interval


def serve_metrics(registry: CollectorRegistry, host: str, port: int) -> None:
    """Serve ``registry`` on ``http://host:port/metrics`` (port 0: not at all)."""
    if port:
        start_http_server(port, addr=host, registry=registry)
        log.info("serving /metrics", extra={"host": host, "port": port})


def run_worker(build: Callable[[CollectorRegistry], Application], settings: EngineSettings, metrics_port: int) -> None:
    """Build the application on a fresh metrics registry, serve /metrics, process until SIGTERM."""
    collector = CollectorRegistry()
    app = build(collector)
    serve_metrics(collector, settings.metrics_host, metrics_port)
    started = time.monotonic()
    app.run()
    log.info("worker stopped", extra={"seconds": round(time.monotonic() - started, 1)})


@dataclass(frozen=True)
class Output:
    """One message a processing step writes: to ``topic``, with its key, value (None: tombstone) and headers."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


KeyState = State[str, Any]
"""The state of the current message's key (Quix scopes a step's store by message key)."""


class Step(Protocol):
    """A processing step: what to write for one message (``state``: None for a stateless step)."""

    def __call__(self, value: Any, key: Any, timestamp: int, headers: Any,
                 state: KeyState | None = None) -> list[Output]: ...


def write_step(app: Application, stream: StreamingDataFrame, step: Step, *, stateful: bool) -> None:
    """Run ``step`` on each message of ``stream`` and produce every :class:`Output` it returns, in the
    application's transaction, with the input message's timestamp (as Quix's ``to_topic`` would).

    The step's outputs are ready bytes for topics the processor created first, so they go straight to
    the application's transactional producer: Quix's output chain (``expand``, ``set_headers``,
    ``to_topic`` and its serialisers) cost as much per message as the profile builder's own state
    look-ups (``bench/bench_profiles``).
    """
    producer = app._producer  # the transactional producer of the application's checkpoints

    def produce_outputs(value: Any, key: Any, timestamp: int, headers: Any, state: KeyState | None = None) -> None:
        for output in step(value, key, timestamp, headers, state):
            producer.produce(output.topic, output.value, output.key, headers=output.headers, timestamp=timestamp)

    if stateful:
        stream.update(produce_outputs, stateful=True, metadata=True)
    else:
        stream.update(produce_outputs, metadata=True)


def input_topic(app: Application, name: str) -> Topic:
    """An input topic read as raw bytes (the steps decode with the registry themselves)."""
    return app.topic(name, key_deserializer="bytes", value_deserializer="bytes")
