"""The sink runtime: how every subscriber connector consumes (the webhook, the PostgreSQL mirror, HTTP push).

A :class:`Sink` says which topics it reads now and handles a batch of records; :class:`SinkRuntime`
does the rest, the same way for each:

- **batch poll**: up to ``batch_size`` records, waiting at most ``batch_wait`` after the first;
  records of committed transactions only (:func:`govbus.clients.consumer`);
- **commit only after handling**: each batch's next offsets are committed once :meth:`Sink.handle`
  returned *and* every acknowledgement it registered on the batch (:meth:`Batch.expect`, e.g. the audit
  records it wrote) has arrived, in batch order, never past a batch still waiting;
- **rebalance**: before partitions move, what is settled is committed (waiting up to 30 s); records of
  revoked partitions still in the batch being collected are left to their new owner;
- **stop**: :meth:`SinkRuntime.stop` ends the loop after the batch in hand; settled batches are
  committed, the group is left;
- **a record that cannot be handled** (:meth:`Batch.reject`) meets the sink's :class:`BadMessages`
  policy: ``park`` (its original key, value and headers go to the sink's dead-letter topic with
  ``govbus.dlq.*`` headers saying why, acknowledged before its offset is committed), ``stop`` (the
  runtime raises :class:`BadMessageError`, nothing of the batch is committed) or ``skip`` (logged);
  each counted in ``govbus_sink_bad_messages_total{sink, policy}``;
- **topics that change** (grants granted or revoked): the runtime follows :meth:`Sink.topics`;
- **pausing**: :meth:`SinkRuntime.wait_paused` waits (a retry back-off) with every partition paused
  while the consumer keeps polling, so the group does not evict it; :meth:`SinkRuntime.hold` pauses
  until :meth:`SinkRuntime.release` (a subscription no longer authorised);
- **lag**: every ``lag_interval`` seconds, records between each partition's committed offset (or its
  first offset) and its end as the last fetch response gave it, per topic, in
  ``govbus_sink_lag_records{sink, topic}``. Not asked of the broker: a watermark request waits behind the
  consumer's idle fetch (500 ms here), and asking each of hundreds of partitions in turn kept a connector
  from delivering for minutes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_END,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from prometheus_client import CollectorRegistry, Counter, Gauge

from consumers.commits import OrderedCommits, PendingCommit
from govbus.exceptions import GovbusError

log = logging.getLogger(__name__)

Where = tuple[str, int]
REVOKE_WAIT_SECONDS = 30.0


class BadMessages(StrEnum):
    """What happens to a record a sink cannot handle."""

    PARK = "park"
    """to the sink's dead-letter topic, with the reason; its offset is committed after that is acknowledged"""
    STOP = "stop"
    """the runtime stops before it; nothing of its batch is committed"""
    SKIP = "skip"
    """logged and counted; its offset is committed with the batch"""


class BadMessageError(GovbusError):
    """A record could not be handled and the policy is ``stop``."""


class Sink(Protocol):
    """What a connector provides to run on :class:`SinkRuntime`."""

    def topics(self) -> Sequence[str]:
        """The topics to read now (the runtime re-subscribes when they change)."""

    def handle(self, batch: Batch) -> None:
        """Deliver ``batch.messages``; :meth:`Batch.reject` those that cannot be handled; :meth:`Batch.expect`
        one acknowledgement per asynchronous write the commit must wait for. Raise to stop the runtime with
        the batch uncommitted."""


@dataclass
class Batch:
    """One batch of records on its way to a commit."""

    messages: list[Message]
    pending: PendingCommit
    on_reject: Callable[[Message, str], None] = lambda _message, _reason: None
    rejected: list[tuple[Message, str]] = field(default_factory=list)

    def expect(self) -> Callable[[KafkaError | None], None]:
        """A callback for one more acknowledgement this batch's commit waits for."""
        return self.pending.expect()

    def reject(self, message: Message, reason: str) -> None:
        """``message`` cannot be handled, because of ``reason`` (no personal value in it). Under the ``stop``
        policy this raises :class:`BadMessageError` at once: the sink handles nothing after it. A record
        rejected again (a sink retrying its batch) counts once."""
        where = (message.topic(), message.partition(), message.offset())
        if any((m.topic(), m.partition(), m.offset()) == where for m, _reason in self.rejected):
            return
        self.on_reject(message, reason)
        self.rejected.append((message, reason))


@dataclass(frozen=True)
class SinkOptions:
    name: str
    """the sink's name in metrics and logs (the subscription, the mirror ...)"""
    batch_size: int = 500
    batch_wait: float = 0.1
    """seconds to wait for more records after the first of a batch"""
    bad_messages: BadMessages = BadMessages.STOP
    dead_letter_topic: str | None = None
    """where ``park`` sends a record (required for it)"""
    lag_interval: float = 2.0
    """seconds between lag measurements; 0: never"""
    replay: bool = False
    """no consumer group: every partition of the topics read from its start, nothing committed (a sink that
    rebuilds its state at each start, or a bounded read); :attr:`SinkRuntime.caught_up` is set once every
    partition was read to the end it had when first listed"""
    replay_since_ms: int | None = None
    """in replay, start at each partition's first record at or after this time (epoch ms); default: the first"""
    replay_refresh: float = 10.0
    """in replay, seconds between two listings of the topics' partitions (new topics, new partitions)"""


class SinkMetrics:
    """The runtime's own metrics, beside each connector's."""

    def __init__(self, collector: CollectorRegistry) -> None:
        self.bad_messages = Counter("govbus_sink_bad_messages", "Records a sink could not handle, by policy applied",
                                    ["sink", "policy"], registry=collector)
        self.lag = Gauge("govbus_sink_lag_records", "Records after the committed offset, per source topic",
                         ["sink", "topic"], registry=collector)
        self.batches = Counter("govbus_sink_batches", "Batches handled and settled", ["sink"], registry=collector)


class SinkRuntime:
    """Runs one :class:`Sink` on ``consumer`` until :meth:`stop` (see the module docstring).

    ``producer`` is the one the sink writes its acknowledged records with (audit); the runtime serves its
    delivery reports and parks records with it.
    """

    def __init__(self, consumer: Consumer, sink: Sink, options: SinkOptions, metrics: SinkMetrics,
                 producer: Producer | None = None,
                 report_lag: Callable[[dict[str, int]], None] | None = None,
                 on_caught_up: Callable[[], None] | None = None) -> None:
        if options.bad_messages is BadMessages.PARK and (producer is None or not options.dead_letter_topic):
            raise GovbusError(f"sink {options.name!r} parks bad records but has no dead-letter topic or producer")
        self._consumer = consumer
        self._sink = sink
        self._options = options
        self._metrics = metrics
        self._producer = producer
        self._report_lag = report_lag
        self._on_caught_up = on_caught_up
        self.caught_up = threading.Event()
        self._replay = ReplayPosition()
        self._stopping = threading.Event()
        self._commits = OrderedCommits(consumer, producer or _NoProducer())
        self._subscribed: tuple[str, ...] = ()
        self._collecting: list[Message] = []
        self._carried: list[Message] = []
        self._held = False
        self._pausing = False
        self._lag_due = 0.0

    @property
    def consumer(self) -> Consumer:
        return self._consumer

    @property
    def stopping(self) -> threading.Event:
        return self._stopping

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        """Consume until :meth:`stop`; commit what is settled and leave the group on the way out."""
        try:
            while not self._stopping.is_set():
                self.step()
        finally:
            self.close()

    def close(self) -> None:
        """Commit what is settled (waiting up to 30 s for acknowledgements) and leave the group."""
        try:
            if not self._options.replay:
                self.commit_settled(wait=REVOKE_WAIT_SECONDS)
        finally:
            self._consumer.close()

    def step(self) -> None:
        """Follow the topics, collect a batch, handle it, commit what is settled, measure lag."""
        if self._options.replay:
            self._replay_step()
            return
        self.follow_topics()
        if self._held:
            self.idle_poll(0.5)
        messages = [] if self._held else self._collect()
        self.commit_settled()
        self._measure_lag()
        if not messages:
            return
        self._commits.add(self._handle(messages).pending)
        self.commit_settled()

    def _handle(self, messages: list[Message]) -> Batch:
        """Hand ``messages`` to the sink as one batch and apply the bad-record policy to what it rejected."""
        batch = Batch(messages, PendingCommit(next_offsets(messages)), self._count_rejected)
        self._sink.handle(batch)
        self._settle_rejected(batch)
        self._metrics.batches.labels(self._options.name).inc()
        return batch

    # -- topics and rebalances -----------------------------------------------------------------------

    def follow_topics(self) -> None:
        topics = tuple(sorted(set(self._sink.topics())))
        if topics != self._subscribed:
            log.info("subscribing", extra={"sink": self._options.name, "topics": list(topics)})
            if topics:
                self._consumer.subscribe(list(topics), on_assign=self._on_assign, on_revoke=self._on_revoke)
            else:
                self._consumer.unsubscribe()
            self._subscribed = topics

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("partitions assigned", extra={"sink": self._options.name,
                                               "partitions": [f"{p.topic}[{p.partition}]" for p in partitions]})
        consumer.assign(partitions)  # assigned here, so that a pause below takes effect on them
        if self._held or self._pausing:
            consumer.pause(partitions)
        else:  # librdkafka keeps a partition's pause across a rebalance: one revoked while this runtime waited
            consumer.resume(partitions)  # paused (its resume then missed it) would come back paused for good

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Records of the revoked partitions already fetched are left to their next owner (librdkafka drops
        what it had queued for them; what it returns afterwards belongs to the new assignment)."""
        revoked = {(p.topic, p.partition) for p in partitions}
        self._collecting[:] = [m for m in self._collecting if (m.topic(), m.partition()) not in revoked]
        self._carried = [m for m in self._carried if (m.topic(), m.partition()) not in revoked]
        self.commit_settled(wait=REVOKE_WAIT_SECONDS)  # what was settled is committed before the partitions move

    # -- collecting ------------------------------------------------------------------------------------

    def _collect(self) -> list[Message]:
        """Up to ``batch_size`` records; after the first, wait at most ``batch_wait`` for the rest."""
        size = self._options.batch_size
        self._collecting, self._carried = self._carried[:size], self._carried[size:]
        messages = self._collecting  # a rebalance during the polls below removes revoked records from it
        if not messages:
            first = self._consumer.poll(0.25)
            if first is None:
                return []
            messages.append(first)
        deadline = time.monotonic() + self._options.batch_wait
        while len(messages) < size:
            remaining = deadline - time.monotonic()
            more = self._consumer.consume(size - len(messages), max(0.0, remaining))
            messages.extend(more)
            if remaining <= 0 or not more:
                break
        self._collecting = []
        return [m for m in messages if self._usable(m)]

    def _usable(self, message: Message) -> bool:
        error = message.error()
        if error is not None:
            if error.fatal():
                raise GovbusError(f"Kafka consumer failed: {error.str()}")
            if error.code() != KafkaError._PARTITION_EOF:
                log.warning("consumer error", extra={"sink": self._options.name, "error": error.str()})
            return False
        return True

    # -- waiting ---------------------------------------------------------------------------------------

    def wait_paused(self, seconds: float) -> None:
        """Wait ``seconds`` (or until stopped) with every partition paused, polling to stay in the group;
        records fetched before the pause took effect are kept, in order, for the next batch."""
        self._pausing = True
        self._consumer.pause(self._consumer.assignment())
        deadline = time.monotonic() + seconds
        try:
            while not self._stopping.is_set() and (left := deadline - time.monotonic()) > 0:
                message = self._consumer.poll(min(left, 0.5))
                if message is not None and self._usable(message):
                    self._carried.append(message)
        finally:
            self._pausing = False
            if not self._held:
                self._consumer.resume(self._consumer.assignment())

    def hold(self) -> None:
        """Pause every partition until :meth:`release` (the loop keeps polling, so the group keeps us)."""
        if not self._held:
            self._held = True
            self._consumer.pause(self._consumer.assignment())

    def release(self) -> None:
        if self._held:
            self._held = False
            self._consumer.resume(self._consumer.assignment())

    def idle_poll(self, seconds: float) -> None:
        """While held: poll (nothing is returned while paused) to keep the group membership."""
        message = self._consumer.poll(seconds)
        if message is not None and self._usable(message):
            self._carried.append(message)

    # -- bad records -----------------------------------------------------------------------------------

    def _count_rejected(self, message: Message, reason: str) -> None:
        policy = self._options.bad_messages
        self._metrics.bad_messages.labels(self._options.name, policy.value).inc()
        if policy is BadMessages.STOP:
            where = f"{message.topic()}[{message.partition()}]@{message.offset()}"
            raise BadMessageError(f"record {where} cannot be handled by {self._options.name}: {reason}; stopped "
                                  "before it (its offset is not committed). Fix the cause, or choose the park or "
                                  "skip policy for such records")

    def _settle_rejected(self, batch: Batch) -> None:
        for message, reason in batch.rejected:
            where = f"{message.topic()}[{message.partition()}]@{message.offset()}"
            if self._options.bad_messages is BadMessages.SKIP:
                log.error("bad record skipped", extra={"sink": self._options.name, "record": where, "reason": reason})
                continue
            self._park(message, reason, batch)

    def _park(self, message: Message, reason: str, batch: Batch) -> None:
        assert self._producer is not None and self._options.dead_letter_topic is not None
        headers = [
            *(message.headers() or []), ("govbus.dlq.reason", reason.encode()),
            ("govbus.dlq.sink", self._options.name.encode()),
            ("govbus.dlq.source", f"{message.topic()}[{message.partition()}]@{message.offset()}".encode())]
        acknowledged = batch.expect()
        self._producer.produce(self._options.dead_letter_topic, key=message.key(), value=message.value(),
                               headers=headers, on_delivery=lambda error, _m: acknowledged(error))
        log.warning("bad record parked", extra={"sink": self._options.name, "topic": self._options.dead_letter_topic,
                                                "reason": reason})

    # -- commits ---------------------------------------------------------------------------------------

    def commit_settled(self, *, wait: float = 0.0) -> None:
        """Commit the leading batches whose acknowledgements all arrived; with ``wait``, first wait up to that
        long for them and commit synchronously (stop, partitions revoked). An acknowledgement that failed
        stops the runtime (:class:`DeliveryError`), that batch and the later ones uncommitted."""
        self._commits.commit_ready(wait=wait)

    @property
    def committed(self) -> dict[Where, int]:
        return self._commits.committed

    @property
    def unsettled(self) -> int:
        """Batches handled but not committed yet."""
        return self._commits.waiting

    # -- replay ------------------------------------------------------------------------------------------

    def _replay_step(self) -> None:
        self._follow_partitions()
        messages = self._collect()
        if messages:
            self._handle(messages)
            if self._producer is not None:
                self._producer.poll(0)
            self._replay.reached(messages)
        self._check_caught_up()

    def _follow_partitions(self) -> None:
        """Assign the partitions of the sink's topics not assigned yet, from their start; the first time,
        note each one's end offset: :attr:`caught_up` once they are all read."""
        replay = self._replay
        if time.monotonic() < replay.listing_due:
            return
        replay.listing_due = time.monotonic() + (self._options.replay_refresh if replay.listed else 1.0)
        first = not replay.listed
        try:
            new = self._unassigned(first)
            # only the first listing's ends count for caught_up: later partitions are not asked
            ends = {(tp.topic, tp.partition): self._consumer.get_watermark_offsets(tp, timeout=10)
                    for tp in new} if first else {}
            starts = self._starts(new)
        except KafkaException as error:
            log.warning("cannot list the topics' partitions yet; trying again",
                        extra={"sink": self._options.name, "error": str(error)})
            return
        for tp in starts:
            where = (tp.topic, tp.partition)
            if where in ends and ends[where][1] > max(ends[where][0], tp.offset):
                replay.targets[where] = ends[where][1]
        replay.assigned.update((tp.topic, tp.partition) for tp in new)
        replay.listed = True
        if starts:
            self._consumer.incremental_assign(starts)

    def _unassigned(self, first: bool) -> list[TopicPartition]:
        metadata = self._consumer.list_topics(timeout=10).topics
        new: list[TopicPartition] = []
        for topic in self._sink.topics():
            found = metadata.get(topic)
            if found is None or found.error is not None:
                if first:
                    log.warning("topic does not exist yet; read once it does",
                                extra={"sink": self._options.name, "topic": topic})
                continue
            new += [TopicPartition(topic, partition) for partition in found.partitions
                    if (topic, partition) not in self._replay.assigned]
        return new

    def _starts(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        """Each partition at its first record, or at its first at or after ``replay_since_ms`` (at its end
        when it has none)."""
        since = self._options.replay_since_ms
        if since is None or not partitions:
            return [TopicPartition(tp.topic, tp.partition, OFFSET_BEGINNING) for tp in partitions]
        found = self._consumer.offsets_for_times([TopicPartition(tp.topic, tp.partition, since) for tp in partitions],
                                                 timeout=10)
        return [TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_END) for tp in found]

    def _check_caught_up(self) -> None:
        replay = self._replay
        if not replay.listed or self.caught_up.is_set():
            return
        if replay.targets:
            replay.passed(self._consumer.position([TopicPartition(t, p) for t, p in replay.targets]))
        if not replay.targets:
            self.caught_up.set()
            log.info("caught up", extra={"sink": self._options.name})
            if self._on_caught_up is not None:
                self._on_caught_up()

    # -- lag ---------------------------------------------------------------------------------------------

    def _measure_lag(self) -> None:
        interval = self._options.lag_interval
        if not interval or time.monotonic() < self._lag_due:
            return
        self._lag_due = time.monotonic() + interval
        lags: dict[str, int] = dict.fromkeys(self._subscribed, 0)
        try:
            assignment = self._consumer.assignment()
            unknown = [tp for tp in assignment if (tp.topic, tp.partition) not in self.committed]
            if unknown:  # positions committed before this process started
                self.committed.update({(tp.topic, tp.partition): tp.offset
                                       for tp in self._consumer.committed(unknown, timeout=2.0) if tp.offset >= 0})
            for tp in assignment:
                lags[tp.topic] = lags.get(tp.topic, 0) + self._lag(tp)
        except KafkaException as error:
            log.debug("lag not measured", extra={"sink": self._options.name, "error": str(error)})
            return
        for topic, lag in lags.items():
            self._metrics.lag.labels(self._options.name, topic).set(lag)
        if self._report_lag is not None:
            self._report_lag(lags)


    def _lag(self, partition: TopicPartition) -> int:
        """Records between the partition's committed offset (its first offset when none) and its end. The end is
        the one the last fetch response gave (no request: a connector following hundreds of partitions asked
        each in turn and spent seconds of every lag interval waiting); the broker is asked only when no fetch
        has answered yet, or when the group has committed nothing there."""
        low, high = self._consumer.get_watermark_offsets(partition, cached=True)
        committed = self.committed.get((partition.topic, partition.partition))
        if high < 0 or (committed is None and low < 0):
            low, high = self._consumer.get_watermark_offsets(partition, timeout=2.0)
        done = committed if committed is not None else low
        if low >= 0:  # records before the first offset were deleted: not lag
            done = max(done, low)
        return max(int(high) - int(done), 0)


class _NoProducer:
    """For a sink that writes nothing it must wait for: nothing to serve."""

    def poll(self, _timeout: float) -> int:
        return 0

    def flush(self, _timeout: float) -> int:
        return 0


@dataclass
class ReplayPosition:
    """Where a replay stands: the partitions assigned, and the end offsets still to be reached."""

    listed: bool = False
    listing_due: float = 0.0
    assigned: set[Where] = field(default_factory=set)
    targets: dict[Where, int] = field(default_factory=dict)

    def reached(self, messages: Sequence[Message]) -> None:
        for message in messages:
            where = (message.topic() or "", message.partition() or 0)
            target = self.targets.get(where)
            if target is not None and (message.offset() or 0) + 1 >= target:
                del self.targets[where]

    def passed(self, positions: Sequence[TopicPartition]) -> None:
        """Partitions whose position is at their target (past a final transaction marker, never delivered)."""
        for tp in positions:
            where = (tp.topic, tp.partition)
            if where in self.targets and tp.offset >= self.targets[where]:
                del self.targets[where]


def next_offsets(messages: Sequence[Message]) -> dict[Where, int]:
    """Per partition, the offset after the last of ``messages`` (what to commit)."""
    ends: dict[Where, int] = {}
    for message in messages:
        where = (message.topic() or "", message.partition() or 0)
        ends[where] = max(ends.get(where, 0), (message.offset() or 0) + 1)
    return ends
