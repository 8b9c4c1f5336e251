"""The outbox connector's loop: read a batch, publish it, flush, store the position; repeat.

One batch:

1. read up to ``batch_size`` rows after the position (:func:`connectors.outbox.reader.read_batch`);
2. publish each through the :class:`~govbus.publisher.Publisher` with the row's ``event_id``
   (and its ``occurred_at``; the trace id is the row's, else derived from the event id), so a
   re-sent row is the same event; a row that breaks its item's rules, names an item the
   catalogue does not know or the department does not own, or does not fit the item's schema
   becomes a :class:`~connectors.outbox.position.Rejection` and is sent nowhere;
3. ``flush()``; if any row was not acknowledged the batch fails: nothing is stored, and the same
   rows are read and sent again after a backoff (exponential, with jitter, capped);
4. in one committed transaction, record the rejections and move the position to the batch's
   last row.

A crash between 3 and 4 re-sends that batch on restart with the same event ids: delivery is
at least once, and every duplicate is recognisable by its event id. A session advisory lock
on the connector's name keeps a second process with the same name waiting, not publishing.
Lost connections to PostgreSQL, a registry that does not answer and delivery failures are
retried; a missing migration or a bad setting stops the connector with a message saying what
to do.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from prometheus_client import CollectorRegistry
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential, wait_random

from connectors.outbox.metrics import OutboxMetrics
from connectors.outbox.position import PositionStore, Rejection
from connectors.outbox.reader import OutboxRow, Position, count_waiting, read_batch
from connectors.outbox.settings import OutboxSettings
from govbus.envelope import Operation
from govbus.exceptions import (
    AuthorizationError,
    ConfigurationError,
    DeliveryError,
    PlatformError,
    RegistryError,
    SerdeError,
    UnknownDataItemError,
    ValidationError,
)
from govbus.publisher import Publisher, PublisherSettings
from govbus.service import serve_until_stopped

log = logging.getLogger(__name__)

RETRIED = (DeliveryError, RegistryError, PlatformError, psycopg.OperationalError)
"""Failures a batch is retried after (the broker, the registry or PostgreSQL did not answer, or
Kafka did not acknowledge): the rows stay where they are, the position does not move."""

# Let the server notice a vanished connector (and free its lock) within about half a minute.
_KEEPALIVE = "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3"


class RowPublisher(Protocol):
    """What the connector needs of :class:`govbus.publisher.Publisher`."""

    def item(self, name: str) -> Any: ...
    def publish(self, item_name: str, record: dict[str, Any], *, occurred_at: Any = None,
                event_id: uuid.UUID | None = None, trace_id: str | None = None) -> Future[Any]: ...
    def delete(self, item_name: str, record_key: str, *, occurred_at: Any = None,
               event_id: uuid.UUID | None = None, trace_id: str | None = None) -> Future[Any]: ...
    def flush(self, timeout: float = ...) -> Any: ...
    def close(self) -> Any: ...


@dataclass(frozen=True)
class BatchOutcome:
    read: int
    published: int
    rejected: int
    position: Position


class _Rejected(Exception):
    def __init__(self, field: str, rule: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.rule, self.reason = field, rule, reason


@dataclass
class _Session:
    conn: psycopg.Connection[Any]
    store: PositionStore
    position: Position


def default_publisher_factory(settings: OutboxSettings) -> Callable[[], RowPublisher]:
    """A factory of Publishers for the settings' department, broker and registry."""

    def make() -> RowPublisher:
        return Publisher(settings.outbox_department, settings.outbox_source_system,
                         settings=PublisherSettings(kafka=settings.kafka,
                                                    registry=settings.registry,
                                                    topic_prefix=settings.topic_prefix))

    return make


class OutboxConnector:
    """Publishes one department's outbox (see the module docstring); :meth:`run` until :meth:`stop`."""

    def __init__(self, settings: OutboxSettings, metrics: OutboxMetrics | None = None,
                 publisher_factory: Callable[[], RowPublisher] | None = None) -> None:
        self._settings = settings
        self.metrics = metrics or OutboxMetrics(CollectorRegistry(), settings.outbox_name)
        self._make_publisher = publisher_factory or default_publisher_factory(settings)
        self._publisher: RowPublisher | None = None
        self._session: _Session | None = None
        self._stop = threading.Event()
        self._lag_counted_at = 0.0
        self._waiting_logged = False
        self._retrying = Retrying(
            retry=retry_if_exception_type(RETRIED), reraise=True, sleep=self._sleep,
            wait=wait_exponential(multiplier=settings.outbox_retry_initial_seconds,
                                  max=settings.outbox_retry_max_seconds)
            + wait_random(0, settings.outbox_retry_initial_seconds),
            before_sleep=self._before_retry,
        )

    def stop(self) -> None:
        """Ask :meth:`run` to return after the batch in progress (its position is stored)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        """Publish batches until :meth:`stop`; wait ``poll_interval`` whenever no row is ready."""
        log.info("outbox connector starting", extra={"settings": self._settings.redacted()})
        try:
            while not self._stop.is_set():
                outcome = self._retrying(self.step)
                if outcome is None or outcome.read < self._settings.outbox_batch_size:
                    self._stop.wait(self._settings.outbox_poll_interval)
        except RETRIED:
            if not self._stop.is_set():
                raise
        finally:
            self.close()
        log.info("outbox connector stopped", extra={"connector": self._settings.outbox_name})

    def step(self) -> BatchOutcome | None:
        """One batch; ``None`` when stopping or another process holds this connector's lock."""
        if self._stop.is_set():
            return None
        try:
            session = self._open_session()
            if session is None:
                return None
            outcome = self._batch(session)
            self._count_lag(session)
            return outcome
        except psycopg.OperationalError:
            self._close_session()
            raise
        except DeliveryError:
            self._drop_publisher()
            raise
        except psycopg.Error as error:
            self._close_session()
            raise ConfigurationError(
                f"the outbox database refused the connector's query: {error}; are the outbox tables there "
                "(`govbus outbox migrate --dsn ...`) and may this user read and write them?"
            ) from error

    def _batch(self, session: _Session) -> BatchOutcome:
        started = time.perf_counter()
        rows = read_batch(session.conn, session.position, self._settings.outbox_batch_size)
        if not rows:
            return BatchOutcome(0, 0, 0, session.position)
        self.metrics.rows_read.inc(len(rows))
        rejections, published = self._publish(rows)
        last = rows[-1].position
        session.store.store(last, rejections)
        session.position = last
        self.metrics.rows_published.inc(published)
        for rejection in rejections:
            self.metrics.rejected(rejection.rule)
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        log.debug("batch stored", extra={"rows": len(rows), "published": published,
                                         "rejected": len(rejections), "txid": last.txid, "id": last.id})
        return BatchOutcome(len(rows), published, len(rejections), last)

    def _publish(self, rows: Sequence[OutboxRow]) -> tuple[list[Rejection], int]:
        publisher = self._current_publisher()
        futures: list[Future[Any]] = []
        rejections: list[Rejection] = []
        for row in rows:
            try:
                futures.append(self._send(publisher, row))
            except _Rejected as rejected:
                rejections.append(_rejection(row, rejected))
                log.warning("outbox row rejected", extra={
                    "outbox_id": row.id, "event_id": str(row.event_id), "data_item": row.data_item,
                    "field": rejected.field, "rule": rejected.rule, "reason": rejected.reason})
        publisher.flush(self._settings.outbox_flush_timeout)
        _raise_unacknowledged(futures, rows[0].position)
        return rejections, len(futures)

    def _send(self, publisher: RowPublisher, row: OutboxRow) -> Future[Any]:
        item = _owned_item(publisher, row)
        trace_id = row.trace_id or row.event_id.hex
        record = row.record or {}
        try:
            if row.operation is Operation.DELETE:  # a key that is empty, has the wrong parts or a control character
                assert row.record_key is not None  # the table's check constraint requires it
                return publisher.delete(row.data_item, row.record_key, occurred_at=row.occurred_at,
                                        event_id=row.event_id, trace_id=trace_id)
            if row.record_key is not None:
                _check_key(item, record, row.record_key)
            return publisher.publish(row.data_item, record, occurred_at=row.occurred_at,
                                     event_id=row.event_id, trace_id=trace_id)
        except ValidationError as error:
            raise _Rejected(error.field, error.rule, error.detail) from error
        except SerdeError as error:
            raise _Rejected("record", "avro.schema", str(error)) from error

    def _open_session(self) -> _Session | None:
        if self._session is not None:
            return self._session
        name = self._settings.outbox_name
        conn = psycopg.connect(self._settings.outbox_dsn.get_secret_value(), autocommit=True, connect_timeout=10,
                               application_name=f"govbus-outbox:{name}"[:63], options=_KEEPALIVE)
        store = PositionStore(conn, name)
        if not store.try_lock():
            conn.close()
            if not self._waiting_logged:
                log.warning("another process runs this outbox connector; waiting for it to stop",
                            extra={"connector": name})
                self._waiting_logged = True
            return None
        stored = store.load()
        self._session = _Session(conn, store, stored.position)
        self._waiting_logged = False
        log.info("outbox position loaded", extra={"connector": name, "txid": stored.position.txid,
                                                  "id": stored.position.id, "stored_at": stored.updated_at})
        return self._session

    def _count_lag(self, session: _Session) -> None:
        """Refresh the lag gauges, at most every ``lag_interval`` s (a count over every waiting row)."""
        now = time.monotonic()
        if now - self._lag_counted_at < self._settings.outbox_lag_interval:
            return
        waiting = count_waiting(session.conn, session.position)
        self.metrics.position_lag.set(waiting.total)
        self.metrics.held_back.set(waiting.held_back)
        self._lag_counted_at = now

    def _current_publisher(self) -> RowPublisher:
        if self._publisher is None:
            self._publisher = self._make_publisher()
        return self._publisher

    def _drop_publisher(self) -> None:
        """Close the publisher (its producer and report thread). Its close() waits for pending events;
        after a failure some may wait on a broker that is down, so the retry or the stop does not wait
        for more than a second: the rest of the close happens in the background."""
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            closing = threading.Thread(target=publisher.close, name="outbox-publisher-close", daemon=True)
            closing.start()
            closing.join(1.0)

    def _close_session(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            try:
                session.conn.close()
            except psycopg.Error:
                pass

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def _before_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        cause = type(error).__name__ if error else "unknown"
        self.metrics.failed_batch(cause)
        log.warning("outbox batch failed; retrying", extra={
            "connector": self._settings.outbox_name, "attempt": state.attempt_number, "cause": cause,
            "error": str(error), "wait_seconds": round(state.upcoming_sleep, 2)})

    def close(self) -> None:
        """Flush and drop the publisher, close the database connection (releasing the lock)."""
        self._drop_publisher()
        self._close_session()


def _owned_item(publisher: RowPublisher, row: OutboxRow) -> Any:
    try:
        return publisher.item(row.data_item)
    except AuthorizationError as error:
        raise _Rejected("data_item", "data_item.not_owned", str(error)) from error
    except UnknownDataItemError as error:
        raise _Rejected("data_item", "data_item.unknown", str(error)) from error


def _check_key(item: Any, record: dict[str, Any], record_key: str) -> None:
    derived = item.key_of(item.validate(record))
    if derived != record_key:
        raise _Rejected("record_key", "record_key.mismatch",
                        f"the row says {record_key!r} but its record's key fields give {derived!r}")


def _rejection(row: OutboxRow, rejected: _Rejected) -> Rejection:
    return Rejection(outbox_id=row.id, txid=row.txid, event_id=row.event_id, data_item=row.data_item,
                     field=rejected.field, rule=rejected.rule, reason=rejected.reason)


def _raise_unacknowledged(futures: Sequence[Future[Any]], first: Position) -> None:
    failed = [f for f in futures if not f.done() or f.exception() is not None]
    if not failed:
        return
    reason = failed[0].exception() if failed[0].done() else "no acknowledgement before the flush timeout"
    raise DeliveryError(
        f"{len(failed)} of {len(futures)} rows of the batch starting at txid {first.txid}, id {first.id} were "
        f"not acknowledged (first: {reason}); the position stays, the batch is sent again with the same event ids"
    )


def run_connector(settings: OutboxSettings, registry: CollectorRegistry | None = None,
                  handle_signals: bool = True) -> None:
    """Serve ``/metrics`` (if a port is set) and run the connector until SIGTERM or SIGINT."""
    registry = registry or CollectorRegistry()
    connector = OutboxConnector(settings, OutboxMetrics(registry, settings.outbox_name))
    serve_until_stopped(connector, settings.outbox_metrics_port, registry, handle_signals, settings.metrics_host)
