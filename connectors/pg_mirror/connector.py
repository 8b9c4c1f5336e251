"""The mirror's loop: consume a batch, write it in one transaction, then commit its offsets; repeat.

1. ``consume`` up to ``batch_size`` events (waiting at most ``batch_wait`` for the batch to fill);
2. turn each into a row change (:mod:`connectors.pg_mirror.source`), write them all in one
   transaction (:class:`~connectors.pg_mirror.writer.PgWriter`), creating or widening tables first;
3. only after the commit, commit the batch's offsets to Kafka (synchronously).

**Failures.** A lost or refused connection to PostgreSQL (a restart, a failover), a serialisation
failure or deadlock, or a registry that does not answer fails the batch: it is written again after a
backoff (exponential, with jitter, capped), as often as needed, with the same events; offsets are
not committed meanwhile, so nothing is lost, and while waiting the consumer's partitions are paused
(it stays in its group without fetching). A crash between 2 and 3 writes the batch again after a
restart: the upserts and deletes are idempotent. An event that cannot be decoded, or that the
database refuses (found by writing the batch's changes one by one), stops the mirror with its
topic, partition and offset, or with ``bad_events=skip`` is logged, counted and left out.

**Sharing.** For a subscription the plans are computed again every ``sharing_refresh`` seconds: a
revoked or expired grant pauses the mirror (nothing more is written, the position is kept) until the
subscription is authorised again. Every change written for a subscription is audited
(:mod:`govbus.audit`, connector ``postgres``, outcome ``delivered``, with the fields written and
masked) after its transaction committed and before its offset is committed; a failure to store the
audit records fails the batch (written again, audited again: twice, never zero times). Events a later
event of the same key replaced within the batch were never written to the subscriber's database,
and records deleted because they no longer match the filter were not delivered: neither is audited.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from prometheus_client import CollectorRegistry
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential, wait_random

from connectors.pg_mirror.metrics import MirrorMetrics
from connectors.pg_mirror.plans import dsn_of, group_of, item_sources, plans_for, subscription_sources
from connectors.pg_mirror.settings import MirrorSettings
from connectors.pg_mirror.source import ChangeReader, MirrorSource, RowChange, origin
from connectors.pg_mirror.writer import PgWriter, Written, last_per_key
from consumers.runtime import sink_options
from govbus import clients
from govbus.audit import AuditRecord, AuditWriter, Outcome, audit_topic_spec
from govbus.exceptions import DecodeError, DeliveryError, GovbusError, PlatformError, RegistryError
from govbus.service import serve_until_stopped
from govbus.sharing.model import Subscription
from govbus.sharing.store import SharingSnapshot, SharingStore
from govbus.topics import ensure_topics
from schemas.catalogue import load_catalogue

log = logging.getLogger(__name__)

RETRIED = (psycopg.OperationalError, psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected,
           psycopg.errors.LockNotAvailable, RegistryError, DeliveryError)
"""Failures a batch is written again after: PostgreSQL, the registry or the broker (audit records) did
not answer, or the transaction lost a race. Offsets stay where they are meanwhile."""

CONNECTOR = "postgres"
"""This connector's name in audit records."""


class BadEventError(GovbusError):
    """An event could not be decoded or was refused by the database, and ``bad_events`` is ``stop``."""


class MirrorConnector:
    """Keeps tables equal to the current state of their sources (see the module docstring)."""

    def __init__(self, settings: MirrorSettings, metrics: MirrorMetrics | None = None, catalogue: Any = None,
                 load_sharing: Callable[[], SharingSnapshot] | None = None) -> None:

        self._settings = settings
        self.metrics = metrics or MirrorMetrics(CollectorRegistry(), settings.name)
        self._catalogue = catalogue or load_catalogue()
        self._load_sharing = load_sharing or SharingStore(settings.kafka, settings.topic_prefix).load
        self._stop = threading.Event()
        self._paused = False
        self._refused: str | None = None
        self._carry: list[Message] = []
        self._committed: dict[tuple[str, int], int] = {}
        self._lag_at = 0.0
        self._sharing_at = 0.0
        subscription, self._sources = self._resolve()
        registry = clients.registry_client(settings.registry)
        self._reader = ChangeReader(self._sources, registry)
        self._writer = PgWriter(dsn_of(settings, subscription), _keys(self._sources),
                                f"govbus-mirror:{settings.name}")
        self._subscription = subscription
        self._audit = self._audit_writer() if subscription else None
        self._consumer: Consumer | None = None
        self._retrying = Retrying(
            retry=retry_if_exception_type(RETRIED), reraise=True, sleep=self._sleep_paused,
            stop=lambda _state: self._stop.is_set(),
            wait=wait_exponential(multiplier=settings.mirror_retry_initial_seconds,
                                  max=settings.mirror_retry_max_seconds)
            + wait_random(0, settings.mirror_retry_initial_seconds),
            before_sleep=self._before_retry,
        )

    @property
    def sources(self) -> list[MirrorSource]:
        return list(self._sources)

    def stop(self) -> None:
        """Ask :meth:`run` to return after the batch in progress (its offsets are committed)."""
        self._stop.set()

    def _audit_writer(self) -> AuditWriter:
        settings = self._settings
        ensure_topics(settings.kafka, [audit_topic_spec(settings.topic_prefix)])
        producer = clients.producer(settings.kafka, {"linger.ms": 5})
        return AuditWriter(producer, settings.topic_prefix)

    def _resolve(self) -> tuple[Subscription | None, list[MirrorSource]]:
        if self._settings.mirror_item:
            return None, item_sources(self._settings, self._catalogue)
        subscription, plans = plans_for(self._settings, self._load_sharing(), self._catalogue)
        self._sharing_at = time.monotonic()
        return subscription, subscription_sources(self._settings, subscription, plans, self._catalogue)

    def run(self) -> None:
        """Mirror until :meth:`stop`."""
        log.info("mirror starting", extra={"settings": self._settings.redacted(),
                                           "tables": {s.topic: str(s.table) for s in self._sources}})
        consumer = clients.consumer(self._settings.kafka, group_of(self._settings, self._sources),
                                    sink_options(**{"enable.partition.eof": False}))
        self._consumer = consumer
        consumer.subscribe([s.topic for s in self._sources], on_assign=self._on_assign)
        try:
            while not self._stop.is_set():
                self._refresh_sharing(consumer)
                if self._refused:
                    self._sleep_paused(1.0)
                    continue
                self._step(consumer)
                self._measure_lag(consumer)
        except RETRIED:
            if not self._stop.is_set():
                raise
        finally:
            consumer.close()
            self._writer.close()
        log.info("mirror stopped", extra={"mirror": self._settings.name})

    def _step(self, consumer: Consumer) -> None:
        carried, self._carry = self._carry, []
        polled = consumer.consume(self._settings.mirror_batch_size - len(carried),
                                  timeout=self._settings.mirror_batch_wait or 0.01) if len(carried) < \
            self._settings.mirror_batch_size else []
        messages = [m for m in [*carried, *polled] if not self._is_error(m)]
        if not messages:
            return
        started = time.perf_counter()
        self.metrics.events.inc(len(messages))
        written = self._retrying(self._write, messages)
        self._commit(consumer, messages)
        self._count(written)
        self.metrics.batch_seconds.observe(time.perf_counter() - started)

    def _write(self, messages: Sequence[Message]) -> Written:
        """Write the batch in one transaction, then audit what was written."""
        changes = self._changes(messages)
        try:
            written = self._writer.write(changes)
            applied = last_per_key(changes)
        except RETRIED:
            raise
        except psycopg.Error as error:
            log.warning("the database refused the batch; writing its events one by one to find the bad ones",
                        extra={"error": str(error), "events": len(changes)})
            written, refused = self._writer.write_each(changes)
            for bad in refused:
                self._bad_event(bad.change.origin, f"the database refused it: {bad.error}")
            left_out = {id(bad.change) for bad in refused}
            applied = [change for change in last_per_key(changes) if id(change) not in left_out]
        self._audit_applied(applied)
        return written

    def _audit_applied(self, applied: Sequence[RowChange]) -> None:
        if self._audit is None or self._subscription is None:
            return
        now = dt.datetime.now(dt.UTC)
        plans = {source.name: source.plan for source in self._sources}
        for change in applied:
            if change.filtered:
                continue
            plan = plans.get(change.item)
            self._audit.append(AuditRecord(
                at=now, subscriber=self._subscription.subscriber, subscription=self._subscription.name,
                connector=CONNECTOR, item=change.item, record_key=change.key_text,
                event_id=change.event_id or f"tombstone {change.origin}",
                operation="UPSERT" if change.record is not None else "DELETE", outcome=Outcome.DELIVERED,
                fields_delivered=[c.name for c in change.columns], fields_masked=list(change.masked),
                grant_id=plan.grant_id if plan else None, attempts=1))
        self._audit.flush()

    def _changes(self, messages: Sequence[Message]) -> list[RowChange]:
        changes = []
        for message in messages:
            try:
                changes.append(self._reader.change(message))
            except DecodeError as error:
                self._bad_event(origin(message), str(error))
        return changes

    def _bad_event(self, where: str, reason: str) -> None:
        self.metrics.error("bad_event")
        if self._settings.mirror_bad_events == "stop":
            raise BadEventError(f"event {where} cannot be mirrored: {reason}; the mirror stopped before it "
                                "(its offset is not committed). Fix the cause, or set GOVBUS_MIRROR_BAD_EVENTS=skip "
                                "to leave such events out")
        log.error("bad event skipped", extra={"event": where, "reason": reason})

    def _commit(self, consumer: Consumer, messages: Sequence[Message]) -> None:
        offsets: dict[tuple[str, int], int] = {}
        for message in messages:
            place = (message.topic() or "", message.partition() or 0)
            offsets[place] = max(offsets.get(place, -1), (message.offset() or 0) + 1)
        try:
            consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False)
        except KafkaException as error:
            # the rows are written; the events come again (and are written again, harmlessly) after a rebalance
            self.metrics.error("offset_commit")
            log.warning("offset commit failed; the batch may be delivered again", extra={"error": str(error)})
            return
        self._committed.update(offsets)

    def _count(self, written: Written) -> None:
        self.metrics.batches.inc()
        for table, n in written.upserted.items():
            self.metrics.upserted(table, n)
        for table, n in written.deleted.items():
            self.metrics.deleted(table, n)
        for table, names in written.added_columns.items():
            self.metrics.columns_added(table, len(names))

    def _is_error(self, message: Message) -> bool:
        error = message.error()
        if error is None:
            return False
        if error.fatal():
            raise PlatformError(f"Kafka consumer failed: {error.str()}")
        if error.code() not in (KafkaError._PARTITION_EOF,):
            log.warning("consumer error", extra={"error": error.str()})
        return True

    # -- waiting without losing the group ------------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        consumer.assign(partitions)
        if self._paused or self._refused:
            consumer.pause(partitions)

    def _sleep_paused(self, seconds: float) -> None:
        """Wait ``seconds`` (or until stopped) with every partition paused, polling to stay in the group."""
        consumer = self._consumer
        if consumer is None:
            self._stop.wait(seconds)
            return
        self._paused = True
        consumer.pause(consumer.assignment())
        deadline = time.monotonic() + seconds
        try:
            while not self._stop.is_set() and (left := deadline - time.monotonic()) > 0:
                message = consumer.poll(min(left, 0.5))
                if message is not None and not self._is_error(message):
                    self._carry.append(message)  # fetched before the pause took effect: kept, in order
        finally:
            self._paused = False
            if not self._refused:
                consumer.resume(consumer.assignment())

    def _before_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        cause = type(error).__name__ if error else "unknown"
        self.metrics.error(cause)
        log.warning("mirror batch failed; retrying", extra={
            "mirror": self._settings.name, "attempt": state.attempt_number, "cause": cause,
            "error": str(error).strip(), "wait_seconds": round(state.upcoming_sleep, 2)})

    # -- periodic work ---------------------------------------------------------------------------------

    def _measure_lag(self, consumer: Consumer) -> None:
        interval = self._settings.mirror_lag_interval
        if not interval or time.monotonic() - self._lag_at < interval:
            return
        self._lag_at = time.monotonic()
        lags: dict[str, int] = {s.topic: 0 for s in self._sources}
        try:
            assignment = consumer.assignment()
            unknown = [tp for tp in assignment if (tp.topic, tp.partition) not in self._committed]
            if unknown:  # positions committed before this process started
                self._committed.update({(tp.topic, tp.partition): tp.offset
                                        for tp in consumer.committed(unknown, timeout=2.0) if tp.offset >= 0})
            for partition in assignment:
                low, high = consumer.get_watermark_offsets(partition, timeout=2.0)
                position = max(self._committed.get((partition.topic, partition.partition), low), low)
                lags[partition.topic] = lags.get(partition.topic, 0) + max(high - position, 0)
        except KafkaException as error:
            log.debug("lag not measured", extra={"error": str(error)})
            return
        for topic, lag in lags.items():
            self.metrics.lag(topic, lag)

    def _refresh_sharing(self, consumer: Consumer) -> None:
        if self._settings.mirror_item or time.monotonic() - self._sharing_at < self._settings.mirror_sharing_refresh:
            return
        self._sharing_at = time.monotonic()
        try:
            subscription, sources = self._resolve()
        except (PlatformError, KafkaException) as error:
            log.warning("could not reload subscriptions and grants; keeping the current plans",
                        extra={"error": str(error)})
            return
        except GovbusError as refusal:
            if self._refused != str(refusal):
                log.error("subscription no longer authorised; mirror paused", extra={"reason": str(refusal)})
            self._refused = str(refusal)
            consumer.pause(consumer.assignment())
            return
        self._subscription = subscription
        if self._refused:
            log.info("subscription authorised again; mirror resumed", extra={"mirror": self._settings.name})
            self._refused = None
            consumer.resume(consumer.assignment())
        if sources != self._sources:
            self._apply_sources(consumer, sources)

    def _apply_sources(self, consumer: Consumer, sources: list[MirrorSource]) -> None:
        log.info("plans changed", extra={"tables": {s.topic: str(s.table) for s in sources}})
        topics_changed = {s.topic for s in sources} != {s.topic for s in self._sources}
        self._sources = sources
        self._reader.set_sources(sources)
        self._writer.set_keys(_keys(sources))
        if topics_changed:
            consumer.subscribe([s.topic for s in sources], on_assign=self._on_assign)


def _keys(sources: Sequence[MirrorSource]) -> dict[Any, tuple[str, ...]]:
    return {source.table: source.key_fields for source in sources}


def run_mirror(settings: MirrorSettings, registry: CollectorRegistry | None = None,
               handle_signals: bool = True) -> None:
    """Serve ``/metrics`` (if a port is set) and mirror until SIGTERM or SIGINT."""
    registry = registry or CollectorRegistry()
    connector = MirrorConnector(settings, MirrorMetrics(registry, settings.name))
    serve_until_stopped(connector, settings.mirror_metrics_port, registry, handle_signals, settings.metrics_host)
