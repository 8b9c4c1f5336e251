"""The normaliser's heartbeat of sources: when it last saw an event from each source, written to ``<prefix>.sources``.

The normaliser is the one component that reads every department and local dialect topic; operators may not read
those (they hold personal records). So, for each event it decodes, the normaliser notes the newest broker
timestamp per source, ``(department, item, source system)`` (:mod:`govbus.last_events` says which time counts
and why), and a background thread writes what changed, as one small JSON record per source keyed
``<department>/<item>/<source system>``, to the compacted topic ``<prefix>.sources`` that operators may read:

1. **Hot path** (:meth:`SourceHeartbeat.note`, once per decoded event, on the processing thread): a lock, a
   dictionary look-up, a comparison; a source's name is checked once (:func:`govbus.last_events.source_name`).
   A timestamp later than the worker's clock counts as now (a client's clock cannot make a source look alive).
   At most ``GOVBUS_NORMALISER_SOURCES_MAX`` sources are tracked; events of further ones are only counted.
2. **Writes** (:meth:`SourceHeartbeat.flush`, every ``GOVBUS_NORMALISER_SOURCES_INTERVAL_SECONDS`` on its own
   thread, and once more when the worker stops): one record per source that had events since the last write (so
   at most one per source per interval), and the worker's :class:`~govbus.last_events.Watcher` record (the items
   it reads) at start, every :data:`WATCHER_REFRESH_SECONDS` and at stop.
3. **Outside the transaction**, by a plain idempotent producer: a heartbeat is not an output of the records it
   describes. A heartbeat lost (the worker killed before the write) is written again with the next event of the
   source or by the worker that replays the records; a heartbeat repeated (the records replayed after an abort)
   carries a time no newer than one already written. Readers keep the newest ``last_event_at`` per key
   (:func:`govbus.last_events.merge`), so either only ever moves a source's last event forward, never back.
4. **At start** the worker reads the topic (:func:`start_heartbeat`) and begins from the times it holds, so a
   worker that restarts behind a backlog does not write times older than those already there.

What a record says is the time of the newest event the *writing worker* saw: with several workers, each writes
the sources of the partitions it holds, and the topic's latest record of a key can be one worker's slightly older
view until the next write (the difference is at most an interval plus the workers' lag).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Protocol

from confluent_kafka import KafkaError, Message, Producer
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from govbus import clients
from govbus.exceptions import GovbusError
from govbus.last_events import (
    WATCHER_REFRESH_SECONDS,
    LastEvent,
    LastEvents,
    Watcher,
    encode,
    read_last_events,
    source_name,
)
from govbus.topic_names import sources_topic
from schemas.catalogue import load_catalogue
from streams.normalising.settings import NormaliserSettings

log = logging.getLogger(__name__)

SEED_TIMEOUT_SECONDS = 10.0
"""How long a starting worker waits for the topic's last events (optional: it starts without them)."""
_NAME_CACHE_LIMIT = 4096
SourceId = tuple[str, str, str]  # (department, item, source system as the envelope says)


class Sink(Protocol):
    """Where heartbeat records go (a Kafka producer; a list in unit tests)."""

    def send(self, key: bytes, value: bytes) -> None: ...

    def close(self, timeout: float) -> int:
        """Deliver what is pending; the number of records not delivered."""
        ...


@dataclass
class _Source:
    """What the worker knows of one source; ``last_ms`` and ``seen_ms`` are milliseconds since the epoch."""

    department: str
    item: str
    name: str
    last_ms: int
    seen_ms: int
    events: int

    def record(self) -> LastEvent:
        return LastEvent(department=self.department, item=self.item, source_system=self.name,
                         last_event_at=_time(self.last_ms), last_seen_at=_time(self.seen_ms), events=self.events)


def _time(milliseconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(milliseconds / 1000, dt.UTC)


def _milliseconds(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


class SourceHeartbeat:
    """Last events per source, noted on the processing thread and written by a thread of its own."""

    def __init__(self, sink: Sink, app_id: str, items: Iterable[str], interval: float, max_sources: int,
                 clock: Callable[[], float] = time.time) -> None:
        self._sink = sink
        self._interval = interval
        self._max_sources = max_sources
        self._clock = clock
        self._lock = threading.Lock()
        self._sources: dict[tuple[str, str, str], _Source] = {}  # by (department, item, checked name)
        self._dirty: set[tuple[str, str, str]] = set()
        self._names: dict[object, str] = {}
        self.untracked_events = 0
        self._watcher = Watcher(watcher=app_id, items=tuple(items), started_at=_time(self._now_ms()),
                                seen_at=_time(self._now_ms()))
        self._watcher_written = float("-inf")
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def seed(self, known: LastEvents) -> int:
        """Start from the topic's last events of this worker's items; how many were taken."""
        taken = 0
        with self._lock:
            for record in known.sources.values():
                if record.item not in self._watcher.items or len(self._sources) >= self._max_sources:
                    continue
                key = (record.department, record.item, record.source_system)
                self._sources[key] = _Source(record.department, record.item, record.source_system,
                                             _milliseconds(record.last_event_at), _milliseconds(record.last_seen_at),
                                             record.events)
                taken += 1
        return taken

    def note(self, department: str, item: str, source_system: object, timestamp_ms: int) -> None:
        """One event of ``item`` from ``department``'s topic, by the envelope's ``source_system``, whose broker
        record has ``timestamp_ms`` (the processing thread calls this for every decoded event)."""
        name = self._names.get(source_system)
        if name is None:
            name = source_name(source_system)
            if len(self._names) < _NAME_CACHE_LIMIT:
                self._names[source_system] = name
        key = (department, item, name)
        now = self._now_ms()
        with self._lock:
            source = self._sources.get(key)
            if source is None:
                if len(self._sources) >= self._max_sources:
                    self.untracked_events += 1
                    return
                source = self._sources[key] = _Source(department, item, name, 0, 0, 0)
            source.events += 1
            stamp = timestamp_ms if 0 < timestamp_ms < now else now
            if stamp > source.last_ms:
                source.last_ms, source.seen_ms = stamp, now
            self._dirty.add(key)

    @property
    def tracked(self) -> int:
        """How many sources this worker keeps last events of."""
        return len(self._sources)

    def flush(self, final: bool = False) -> int:
        """Write every source that had events since the last write (and the watcher record when due or
        ``final``); how many records were handed to the sink."""
        with self._lock:  # copied under the lock, encoded outside it: the processing thread waits for no JSON
            due = [replace(self._sources[key]) for key in self._dirty]
            self._dirty.clear()
        for source in due:
            self._sink.send(*encode(source.record()))
        now = self._clock()
        if final or now - self._watcher_written >= WATCHER_REFRESH_SECONDS:
            self._watcher = self._watcher.model_copy(update={"seen_at": _time(int(now * 1000))})
            self._sink.send(*encode(self._watcher))
            self._watcher_written = now
            return len(due) + 1
        return len(due)

    def start(self) -> None:
        """Write the watcher record now, then flush every interval on a daemon thread."""
        self.flush()
        self._thread = threading.Thread(target=self._run, name="source-heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self.flush()
            except Exception:  # a heartbeat must never stop the normaliser: log it, try again next interval
                log.exception("source heartbeat not written")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread, write what is left, deliver it (waiting up to ``timeout`` seconds)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():  # a write still under way: a second one beside it would race
                log.warning("the source heartbeat thread did not stop in %.0f s; its last write is skipped", timeout)
                return
        try:  # a failure here must not hide what stopped the worker (this runs in its `finally`)
            self.flush(final=True)
            undelivered = self._sink.close(timeout)
        except Exception:
            log.exception("the last source heartbeats could not be written at stop")
            return
        if undelivered:
            log.warning("%d source heartbeats not delivered at stop", undelivered)


class KafkaSink:
    """Heartbeat records to the sources topic by an idempotent producer (not the application's transactional one);
    the broker's refusals are counted and logged, never raised."""

    def __init__(self, producer: Producer, topic: str) -> None:
        self._producer = producer
        self._topic = topic
        self.failures = 0

    def send(self, key: bytes, value: bytes) -> None:
        self._producer.produce(self._topic, value, key, on_delivery=self._delivered)
        self._producer.poll(0)

    def _delivered(self, error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            self.failures += 1
            if self.failures == 1 or self.failures % 100 == 0:
                log.warning("source heartbeat refused by the broker (%s; %d so far): check the normaliser's WRITE "
                            "ACL on %s (`govbus acl sync --dry-run`)", error.name(), self.failures, self._topic)

    def close(self, timeout: float) -> int:
        return int(self._producer.flush(timeout))


class HeartbeatMetrics(Collector):
    """``govbus_normaliser_heartbeat_failures_total`` (heartbeat records the broker did not take),
    ``govbus_normaliser_sources_tracked`` (sources this worker keeps last events of) and
    ``govbus_normaliser_sources_untracked_events_total`` (events of sources beyond GOVBUS_NORMALISER_SOURCES_MAX)."""

    def __init__(self, heartbeat: SourceHeartbeat, sink: KafkaSink) -> None:
        self._heartbeat = heartbeat
        self._sink = sink

    def collect(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily]:
        yield CounterMetricFamily("govbus_normaliser_heartbeat_failures", "Source heartbeat records the broker "
                                  "did not take", value=self._sink.failures)
        yield GaugeMetricFamily("govbus_normaliser_sources_tracked", "Sources (department, item, source system) "
                                "this worker keeps the last event of", value=self._heartbeat.tracked)
        yield CounterMetricFamily("govbus_normaliser_sources_untracked_events", "Events of sources beyond "
                                  "GOVBUS_NORMALISER_SOURCES_MAX, not tracked", value=self._heartbeat.untracked_events)


@dataclass(frozen=True)
class RunningHeartbeat:
    """A started heartbeat and its metrics (register them on the worker's registry)."""

    heartbeat: SourceHeartbeat
    metrics: HeartbeatMetrics


def start_heartbeat(settings: NormaliserSettings) -> RunningHeartbeat | None:
    """The worker's heartbeat, seeded from the topic and started; None when the interval is 0 (off)."""
    if settings.normaliser_sources_interval_seconds == 0:
        log.info("source heartbeats off (GOVBUS_NORMALISER_SOURCES_INTERVAL_SECONDS=0)")
        return None
    topic = sources_topic(settings.topic_prefix)
    sink = KafkaSink(clients.producer(settings.kafka, {"linger.ms": 100, "client.id": f"{settings.normaliser_app_id}"
                                                       "-heartbeat"}), topic)
    catalogue = load_catalogue()
    items = [catalogue.get(name).name for name in settings.normaliser_items]
    heartbeat = SourceHeartbeat(sink, settings.normaliser_app_id, items, settings.normaliser_sources_interval_seconds,
                                settings.normaliser_sources_max)
    try:
        seeded = heartbeat.seed(read_last_events(settings.kafka, settings.topic_prefix, SEED_TIMEOUT_SECONDS))
    except GovbusError as error:  # the heartbeat starts without them: a repeated time only moves nothing
        log.warning("could not read %s to start from its last events (%s); starting without them", topic, error)
        seeded = 0
    heartbeat.start()
    log.info("source heartbeats to %s every %.1f s (%d sources known)", topic,
             settings.normaliser_sources_interval_seconds, seeded)
    return RunningHeartbeat(heartbeat, HeartbeatMetrics(heartbeat, sink))
