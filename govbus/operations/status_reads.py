"""The reads behind ``govbus status`` and the console: :class:`StatusReader` fills :class:`.status.Reads`.

Each :meth:`StatusReader.read`, as the operator principal (DESCRIBE, READ on the control and sources topics):

1. the broker: a TCP connection to a bootstrap server (refused within milliseconds when nothing listens), then
   the topics' metadata; the time both took is the check's. Without a broker nothing else of it is read;
2. the registry: ``GET /subjects`` with the configured credentials (an answer other than 200 counts as down);
3. each component's ``/metrics`` (:attr:`StatusSettings.status_targets` and what the caller adds);
4. the subscriptions and grants (:meth:`govbus.sharing.store.SharingStore.load`);
5. the watched groups' committed offsets, every partition's start and end offsets and the times of the oldest
   waiting records, as the exporter reads them (:class:`govbus.operations.offsets.OffsetReader`);
6. per partition of the counted topics, the offset of the first record at or after now - 1 h (ListOffsets by
   timestamp: DESCRIBE is enough, no record is read);
7. the sources topic (:func:`govbus.last_events.read_last_events`), when it exists.

Steps 2, 3 and 7 run in threads beside 4 to 6 (the two topic reads, 4 and 7, each start a consumer and take
most of the time). A step that fails is named in ``Reads.unread`` (the status is then not healthy) and the others
go on. The reader keeps what a console needs between reads: the times found for waiting records (a record's time
never changes), and when each component last answered.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

from govbus import clients
from govbus.exceptions import GovbusError
from govbus.last_events import LastEvents, read_last_events
from govbus.operations.idle import IdleTracker
from govbus.operations.lag import Position
from govbus.operations.metrics import Reading
from govbus.operations.offsets import OffsetReader
from govbus.operations.reading import OffsetsReading
from govbus.operations.sources import DAY, judgement_notes
from govbus.operations.status import (
    COUNTED_KINDS,
    HOUR,
    BusStatus,
    Check,
    ComponentStatus,
    Judgement,
    Reads,
    assemble,
)
from govbus.operations.status_settings import StatusSettings
from govbus.operations.status_settings import Target as Component
from govbus.operations.subscriptions import SubscriptionPositions
from govbus.operations.topic_kinds import TopicKinds
from govbus.preflight import require_broker
from govbus.sharing.model import Grant, Subscription
from govbus.sharing.store import SharingStore
from govbus.topic_names import sources_topic
from schemas.catalogue import Catalogue, load_catalogue
from schemas.catalogue.register import load_register

log = logging.getLogger(__name__)
T = TypeVar("T")
"""what limits the judgement of the sources read (e.g. no normaliser wrote heartbeats lately), one sentence each"""


@dataclass
class _BusReads:
    """What steps 4 to 7 found (None: not read)."""

    reading: Reading | None = None
    subscriptions: list[SubscriptionPositions] = field(default_factory=list)
    grants: list[Grant] | None = None
    hour_ago: dict[Position, int] | None = None
    last_events: LastEvents | None = None
    notes: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    """how long each step took (logged at DEBUG)"""
    # two threads fill one of these (StatusReader.read): each its own fields, and the lists and the dict only
    # get an item added, which is atomic

    def attempt(self, what: str, step: Callable[[], T]) -> T | None:
        """``step()``, timed; None (and ``what`` noted as unread) when it raises a :class:`GovbusError`."""
        started = time.monotonic()
        try:
            return step()
        except GovbusError as error:
            log.warning("status step failed", extra={"step": what, "error": str(error)})
            self.unread.append(f"{what}: {error}")
            return None
        finally:
            self.seconds[what] = _since(started)


class StatusReader:
    """Reads what :func:`govbus.operations.status.assemble` judges (see the module docstring)."""

    def __init__(self, settings: StatusSettings, catalogue: Catalogue, components: Sequence[Component] = ()) -> None:
        self._settings = settings
        self._prefix = settings.topic_prefix
        self._kinds = TopicKinds(settings.topic_prefix)
        self._catalogue = catalogue
        self._components = list(components)
        self._offsets_reader: OffsetReader | None = None
        self._reading: OffsetsReading | None = None
        self._store = SharingStore(settings.kafka, settings.topic_prefix)
        self._last_up: dict[str, dt.datetime] = {}

    def close(self) -> None:
        """Close the broker reader (its consumers: one per watched group), if one was made."""
        if self._offsets_reader is not None:
            self._offsets_reader.close()
            self._offsets_reader = None
            self._reading = None

    @property
    def _offsets(self) -> OffsetReader:
        """The admin client, made once a broker answered (librdkafka would log every failed connection of one made
        before)."""
        if self._offsets_reader is None:
            self._offsets_reader = OffsetReader(self._settings.kafka, self._settings.status_timeout_seconds)
        return self._offsets_reader

    def read(self) -> Reads:
        """Everything once (each step's failure noted, the others done). After the broker's check, the registry,
        the components and the sources topic are read in threads beside the sharing store and the offsets: the
        two topic reads take most of the time (a consumer each), and they do not wait for each other."""
        started, now = time.monotonic(), time.time()
        broker, topics = self._broker()
        bus = _BusReads()
        with ThreadPoolExecutor(max_workers=3 + len(self._components), thread_name_prefix="status") as pool:
            registry = pool.submit(self._registry)
            components = [pool.submit(self._scrape, component) for component in self._components]
            sources = pool.submit(self._sources, bus, topics, now) if topics is not None else None
            if topics is not None:
                self._bus(bus, topics, now)
            if sources is not None:
                sources.result()
            checks = registry.result(), [component.result() for component in components]
        log.debug("status read", extra={"seconds": {"broker": broker.seconds, "registry": checks[0].seconds,
                                                    "components": sum(c.seconds for c in checks[1]), **bus.seconds}})
        return Reads(checked_at=now, seconds=time.monotonic() - started, prefix=self._prefix, broker=broker,
                     registry=checks[0], components=checks[1], reading=bus.reading, subscriptions=bus.subscriptions,
                     grants=bus.grants, hour_ago=bus.hour_ago, last_events=bus.last_events, source_notes=bus.notes,
                     unread=bus.unread)

    def _broker(self) -> tuple[Check, dict[str, list[int]] | None]:
        started = time.monotonic()
        bootstrap = self._settings.kafka.bootstrap
        try:
            require_broker(bootstrap)
            topics = self._offsets.topics(self._kinds.under)
        except GovbusError as error:
            return Check(address=bootstrap, reachable=False, seconds=_since(started), error=str(error)), None
        return Check(address=bootstrap, reachable=True, seconds=_since(started)), topics

    def _registry(self) -> Check:
        connection = self._settings.registry
        started = time.monotonic()
        try:
            with clients.registry_http(connection, self._settings.status_timeout_seconds) as http:
                answer = http.get("/subjects")
        except httpx.HTTPError as error:
            return Check(address=connection.url, reachable=False, seconds=_since(started),
                         error=f"{type(error).__name__}: {error}")
        error_text = None if answer.status_code == 200 else f"HTTP {answer.status_code} on GET /subjects"
        return Check(address=connection.url, reachable=error_text is None, seconds=_since(started), error=error_text)

    def _scrape(self, component: Component) -> ComponentStatus:
        started = time.monotonic()
        try:
            answer = httpx.get(component.url, timeout=self._settings.status_timeout_seconds)
            error = None if answer.status_code == 200 else f"HTTP {answer.status_code}"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"
        if error is None:
            self._last_up[component.name] = dt.datetime.now(dt.UTC)
        return ComponentStatus(name=component.name, url=component.url, up=error is None, seconds=_since(started),
                               last_scrape_at=self._last_up.get(component.name), error=error)

    def _bus(self, bus: _BusReads, topics: dict[str, list[int]], now: float) -> None:
        """Steps 4 to 6 (the broker answered)."""
        sharing = bus.attempt("the subscriptions and grants", self._store.load)
        if sharing is not None:
            bus.grants = list(sharing.grants.values())
        subscriptions = list(sharing.subscriptions.values()) if sharing is not None else []
        read = bus.attempt("the offsets", lambda: self._offsets_read(topics, subscriptions, bus.grants or [], now))
        if read is not None:
            bus.reading, bus.subscriptions = read
            counted = [(t, p) for t, ps in topics.items() if self._kinds.kind(t) in COUNTED_KINDS for p in ps]
            bus.hour_ago = bus.attempt("the offsets of an hour ago",
                                       lambda: self._offsets.offsets_at(counted, int((now - HOUR) * 1000)))

    def _sources(self, bus: _BusReads, topics: dict[str, list[int]], now: float) -> None:
        """Step 7 (in a thread beside :meth:`_bus`: each sets fields of its own of ``bus``)."""
        if sources_topic(self._prefix) not in topics:
            bus.notes = [f"{sources_topic(self._prefix)} does not exist: no normaliser writes source heartbeats, so "
                         "no source is judged"]
            return
        bus.last_events = bus.attempt("the sources topic", self._read_sources)
        if bus.last_events is not None:
            bus.notes = judgement_notes(bus.last_events, dt.datetime.fromtimestamp(now, dt.UTC), self._prefix)

    def _read_sources(self) -> LastEvents:
        return read_last_events(self._settings.kafka, self._prefix, self._settings.status_timeout_seconds * 3)

    def _offsets_read(self, topics: dict[str, list[int]], subscriptions: list[Subscription], grants: list[Grant],
                      now: float) -> tuple[Reading, list[SubscriptionPositions]]:
        """As the exporter reads them (:class:`~govbus.operations.reading.OffsetsReading`): the watched groups'
        commits, the subscriptions' positions, the ends and the times of the oldest waiting records."""
        if self._reading is None:
            self._reading = OffsetsReading(self._offsets, self._prefix, self._catalogue)
        return self._reading.read(topics, subscriptions, grants, now)


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)


def judgement(settings: StatusSettings, catalogue: Catalogue) -> Judgement:
    """The thresholds of ``settings`` and the packaged register."""
    return Judgement(catalogue=catalogue, register=load_register(),
                     grace_seconds=settings.sources_grace_seconds,
                     subscriber_silent_after=settings.exporter_subscriber_silent_after_seconds,
                     grant_warning_seconds=settings.status_grant_warning_days * DAY)


class StatusWatch:
    """One :class:`~govbus.operations.status.BusStatus` per :meth:`status` call: read, then judged; between calls
    it remembers the subscriptions' movement, the waiting records' times and the components' last answers.
    :meth:`close` once done."""

    def __init__(self, settings: StatusSettings, components: Sequence[Component] = ()) -> None:
        catalogue = load_catalogue()
        self._reader = StatusReader(settings, catalogue, components)
        self._judgement = judgement(settings, catalogue)
        self._idle = IdleTracker()

    def status(self) -> BusStatus:
        return assemble(self._reader.read(), self._judgement, self._idle)

    def close(self) -> None:
        """Close the broker clients kept between calls."""
        self._reader.close()
