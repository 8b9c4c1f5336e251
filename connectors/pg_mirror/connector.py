"""The mirror, a sink on the runtime of :mod:`consumers.sink`: each batch written in one transaction.

1. the runtime collects up to ``batch_size`` events (waiting at most ``batch_wait`` for the batch to fill);
2. the mirror turns each into a row change (:mod:`connectors.pg_mirror.source`), writes them all in one
   transaction (:class:`~connectors.pg_mirror.writer.PgWriter`), creating or widening tables first;
3. only after that, the runtime commits the batch's offsets to Kafka.

**Failures.** A lost or refused connection to PostgreSQL (a restart, a failover), a serialisation
failure or deadlock, or a registry that does not answer fails the batch: it is written again after a
backoff (exponential, with jitter, capped), as often as needed, with the same events; offsets are
not committed meanwhile, so nothing is lost, and while waiting the consumer's partitions are paused
(it stays in its group without fetching). A crash between 2 and 3 writes the batch again after a
restart: the upserts and deletes are idempotent. An event that cannot be decoded, or that the
database refuses (found by writing the batch's changes one by one), is rejected to the runtime, whose
policy (``bad_events``) stops the mirror before it with its topic, partition and offset, or (``skip``)
logs, counts and leaves it out.

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
from confluent_kafka import KafkaException, Message
from prometheus_client import CollectorRegistry
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential, wait_random

from connectors.pg_mirror.metrics import MirrorMetrics
from connectors.pg_mirror.plans import dsn_of, group_of, item_sources, plans_for, subscription_sources
from connectors.pg_mirror.settings import MirrorSettings
from connectors.pg_mirror.source import ChangeReader, MirrorSource, RowChange, origin
from connectors.pg_mirror.writer import PgWriter, Written, last_per_key
from consumers.runtime import sink_options
from consumers.sink import BadMessages, Batch, SinkMetrics, SinkOptions, SinkRuntime
from govbus import clients, identities
from govbus.audit import AuditRecord, AuditWriter, Outcome, audit_topic_spec
from govbus.connection import KafkaConnection
from govbus.exceptions import ConfigurationError, DecodeError, DeliveryError, GovbusError, PlatformError, RegistryError
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


class MirrorConnector:
    """Keeps tables equal to the current state of their sources (see the module docstring)."""

    def __init__(self, settings: MirrorSettings, metrics: MirrorMetrics | None = None, catalogue: Any = None,
                 load_sharing: Callable[[], SharingSnapshot] | None = None) -> None:

        self._settings = settings
        self._collector = CollectorRegistry() if metrics is None else metrics.registry
        self.metrics = metrics or MirrorMetrics(self._collector, settings.name)
        self._catalogue = catalogue or load_catalogue()
        self._load_sharing = load_sharing or SharingStore(settings.kafka, settings.topic_prefix).load
        self._stop = threading.Event()
        self._refused: str | None = None
        self._sharing_at = 0.0
        subscription, self._sources = self._resolve()
        registry = clients.registry_client(settings.registry)
        self._reader = ChangeReader(self._sources, registry)
        self._writer = PgWriter(dsn_of(settings, subscription), _keys(self._sources),
                                f"govbus-mirror:{settings.name}")
        self._subscription = subscription
        self._audit = self._audit_writer()  # an item-mode export is audited too
        self._runtime: SinkRuntime | None = None
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
        if self._runtime is not None:
            self._runtime.stop()

    def _audit_writer(self) -> AuditWriter:
        settings = self._settings
        ensure_topics(settings.kafka, [audit_topic_spec(settings.topic_prefix)])
        producer = clients.producer(settings.kafka, {"linger.ms": 5})
        return AuditWriter(producer, settings.topic_prefix, settings.audit_signing_key())

    def _resolve(self) -> tuple[Subscription | None, list[MirrorSource]]:
        if self._settings.mirror_item:
            require_operator(self._settings.kafka)
            return None, item_sources(self._settings, self._catalogue)
        subscription, plans = plans_for(self._settings, self._load_sharing(), self._catalogue)
        self._sharing_at = time.monotonic()
        return subscription, subscription_sources(self._settings, subscription, plans, self._catalogue)

    def run(self) -> None:
        """Mirror until :meth:`stop` (on the sink runtime: :mod:`consumers.sink`)."""
        log.info("mirror starting", extra={"settings": self._settings.redacted(),
                                           "tables": {s.topic: str(s.table) for s in self._sources}})
        settings = self._settings
        consumer = clients.consumer(settings.kafka, group_of(settings, self._sources),
                                    sink_options(**{"enable.partition.eof": False}))
        options = SinkOptions(f"mirror:{settings.name}", settings.mirror_batch_size, settings.mirror_batch_wait,
                              BadMessages(settings.mirror_bad_events), lag_interval=settings.mirror_lag_interval)
        self._runtime = SinkRuntime(consumer, self, options, SinkMetrics(self._collector),
                                    report_lag=self._report_lag)
        if self._stop.is_set():  # stopped before the runtime existed
            self._runtime.stop()
        try:
            self._runtime.run()
        except RETRIED:
            if not self._stop.is_set():
                raise
        finally:
            self._writer.close()
        log.info("mirror stopped", extra={"mirror": settings.name})

    def topics(self) -> list[str]:
        """The source topics of the plans in force (reloaded from the sharing store when due)."""
        self._refresh_sharing()
        return [source.topic for source in self._sources]

    def handle(self, batch: Batch) -> None:
        """Write the batch in one transaction (retried while the database is away), then audit it."""
        started = time.perf_counter()
        self.metrics.events.inc(len(batch.messages))
        written = self._retrying(self._write, batch)
        self._count(written)
        self.metrics.batch_seconds.observe(time.perf_counter() - started)

    def _write(self, batch: Batch) -> Written:
        """Write the batch in one transaction, then audit what was written."""
        changes = self._changes(batch)
        try:
            written = self._writer.write(changes)
            applied = last_per_key(changes)
        except RETRIED:
            raise
        except psycopg.Error as error:
            log.warning("the database refused the batch; writing its events one by one to find the bad ones",
                        extra={"error": str(error), "events": len(changes)})
            written, refused = self._writer.write_each(changes)
            by_origin = {origin(message): message for message in batch.messages}
            for bad in refused:
                self._bad_event(batch, by_origin[bad.change.origin], f"the database refused it: {bad.error}")
            left_out = {id(bad.change) for bad in refused}
            applied = [change for change in last_per_key(changes) if id(change) not in left_out]
        self._audit_applied(applied)
        return written

    def _audit_applied(self, applied: Sequence[RowChange]) -> None:
        if self._audit is None:
            return
        subscription = self._subscription
        subscriber = subscription.subscriber if subscription else f"export.{self._settings.kafka.username}"
        name = subscription.name if subscription else f"item-export.{self._settings.name}"
        now = dt.datetime.now(dt.UTC)
        plans = {source.name: source.plan for source in self._sources}
        for change in applied:
            if change.filtered:
                continue
            plan = plans.get(change.item)
            self._audit.append(AuditRecord(
                at=now, subscriber=subscriber, subscription=name,
                connector=CONNECTOR, item=change.item, record_key=change.key_text,
                event_id=change.event_id or f"tombstone {change.origin}",
                operation="UPSERT" if change.record is not None else "DELETE", outcome=Outcome.DELIVERED,
                fields_delivered=[c.name for c in change.columns], fields_masked=list(change.masked),
                grant_id=plan.grant_id if plan else None, attempts=1))
        self._audit.flush()

    def _changes(self, batch: Batch) -> list[RowChange]:
        changes = []
        for message in batch.messages:
            try:
                changes.append(self._reader.change(message))
            except DecodeError as error:
                self._bad_event(batch, message, str(error))
        return changes

    def _bad_event(self, batch: Batch, message: Message, reason: str) -> None:
        """The runtime's policy (GOVBUS_MIRROR_BAD_EVENTS) decides: stop here, or skip it (logged)."""
        self.metrics.error("bad_event")
        batch.reject(message, f"{reason} (GOVBUS_MIRROR_BAD_EVENTS=skip leaves such events out)")

    def _count(self, written: Written) -> None:
        self.metrics.batches.inc()
        for table, n in written.upserted.items():
            self.metrics.upserted(table, n)
        for table, n in written.deleted.items():
            self.metrics.deleted(table, n)
        for table, names in written.added_columns.items():
            self.metrics.columns_added(table, len(names))

    def _sleep_paused(self, seconds: float) -> None:
        """A retry's wait: every partition paused, the consumer polling so the group keeps it."""
        if self._runtime is None:
            self._stop.wait(seconds)
        else:
            self._runtime.wait_paused(seconds)

    def _before_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        cause = type(error).__name__ if error else "unknown"
        self.metrics.error(cause)
        log.warning("mirror batch failed; retrying", extra={
            "mirror": self._settings.name, "attempt": state.attempt_number, "cause": cause,
            "error": str(error).strip(), "wait_seconds": round(state.upcoming_sleep, 2)})

    # -- periodic work ---------------------------------------------------------------------------------

    def _report_lag(self, lags: dict[str, int]) -> None:
        for topic, lag in lags.items():
            self.metrics.lag(topic, lag)

    def _refresh_sharing(self) -> None:
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
            if self._runtime is not None:
                self._runtime.hold()
            return
        self._subscription = subscription
        if self._refused:
            log.info("subscription authorised again; mirror resumed", extra={"mirror": self._settings.name})
            self._refused = None
            if self._runtime is not None:
                self._runtime.release()
        if sources != self._sources:
            self._apply_sources(sources)

    def _apply_sources(self, sources: list[MirrorSource]) -> None:
        log.info("plans changed", extra={"tables": {s.topic: str(s.table) for s in sources}})
        topics_changed = {s.topic for s in sources} != {s.topic for s in self._sources}
        self._sources = sources
        self._reader.set_sources(sources)
        self._writer.set_keys(_keys(sources))
        if topics_changed:
            log.info("source topics changed; the runtime subscribes to the new ones")


EXPORTERS = frozenset({identities.ADMIN, identities.OPERATOR})


def require_operator(kafka: KafkaConnection) -> None:
    """Item mode exports whole records, personal fields in clear, under no grant: only an operator (or the
    platform's administrator) may run it, and every row it writes is audited (subscriber ``export.<user>``)."""
    if not kafka.uses_sasl or kafka.username not in EXPORTERS:
        raise ConfigurationError("GOVBUS_MIRROR_ITEM exports whole records in clear, under no grant: run it as the "
                                 "operator (GOVBUS_KAFKA__USERNAME=operator, with the password the platform gave "
                                 "it, and a READ ACL on the item's topic) or mirror a subscription instead "
                                 "(GOVBUS_MIRROR_SUBSCRIPTION)")


def _keys(sources: Sequence[MirrorSource]) -> dict[Any, tuple[str, ...]]:
    return {source.table: source.key_fields for source in sources}


def run_mirror(settings: MirrorSettings, registry: CollectorRegistry | None = None,
               handle_signals: bool = True) -> None:
    """Serve ``/metrics`` (if a port is set) and mirror until SIGTERM or SIGINT."""
    registry = registry or CollectorRegistry()
    connector = MirrorConnector(settings, MirrorMetrics(registry, settings.name))
    serve_until_stopped(connector, settings.mirror_metrics_port, registry, handle_signals, settings.metrics_host)
