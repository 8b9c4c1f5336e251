"""The exporter (``govbus run exporter``): what operators watch, read every few seconds, served on ``/metrics``.

Each refresh (every ``GOVBUS_EXPORTER_REFRESH_SECONDS``), as the operator principal (DESCRIBE on topics and
groups, READ on the control and sources topics; no data record is read):

1. the subscriptions and grants (:meth:`govbus.sharing.store.SharingStore.load`);
2. the topics under the prefix, the consumer groups whose ids start with ``<prefix>.`` or ``<prefix>-`` (and
   ``GOVBUS_EXPORTER_GROUP_PREFIXES``), their committed offsets, every partition's start and end offsets, and
   the timestamps of the oldest waiting records (:mod:`govbus.operations.offsets`): a group whose consumers are
   all stopped is read the same as a running one;
3. the families of :mod:`govbus.operations.metrics` made from them, each replacing the previous one whole;
4. the sources topic's last events (:class:`govbus.operations.source_collector.SourceCollector`, judged at
   scrape time), once that topic exists.

A step that fails keeps its previous families, logs why and counts the refresh in
``govbus_exporter_refresh_errors_total``; the next refresh tries again. The exporter itself never stops on a
broker error.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from confluent_kafka import KafkaException
from prometheus_client import CollectorRegistry, Counter, Gauge

from govbus.exceptions import GovbusError
from govbus.last_events import read_last_events
from govbus.operations.grants import grant_expiries
from govbus.operations.idle import IdleTracker
from govbus.operations.metrics import (
    FamiliesCollector,
    Reading,
    grant_families,
    group_families,
    subscription_families,
    topic_families,
)
from govbus.operations.offsets import OffsetReader
from govbus.operations.reading import OffsetsReading
from govbus.operations.settings import ExporterSettings
from govbus.operations.source_collector import SourceCollector
from govbus.operations.subscriptions import SubscriptionPositions, subscription_lags
from govbus.operations.topic_kinds import TopicKinds
from govbus.service import serve_until_stopped
from govbus.sharing.store import SharingSnapshot, SharingStore
from govbus.topic_names import sources_topic
from schemas.catalogue import load_catalogue
from schemas.catalogue.register import load_register

log = logging.getLogger(__name__)
T = TypeVar("T")


class Exporter:
    """Refreshes the operator's metrics (see the module docstring); :meth:`run` until :meth:`stop`, then
    :meth:`close`."""

    def __init__(self, settings: ExporterSettings, registry: CollectorRegistry, reader: OffsetReader | None = None,
                 store: SharingStore | None = None) -> None:
        """``reader`` and ``store`` default to the broker's, as the settings reach it (a test hands in its own)."""
        self._settings = settings
        self._prefix = settings.topic_prefix
        self._kinds = TopicKinds(settings.topic_prefix)
        timeout = settings.exporter_request_timeout_seconds
        self._own_reader = reader is None
        self._reader = reader or OffsetReader(settings.kafka, timeout)
        self._store = store or SharingStore(settings.kafka, settings.topic_prefix)
        self._catalogue = load_catalogue()
        self._idle = IdleTracker()
        self._offsets = OffsetsReading(self._reader, self._prefix, self._catalogue, settings.exporter_group_prefixes)
        self._families = FamiliesCollector()
        registry.register(self._families)
        self._sources = SourceCollector(partial(read_last_events, settings.kafka, self._prefix, timeout * 3),
                                        self._catalogue, load_register(), settings.sources_grace_seconds)
        registry.register(self._sources)
        self.errors = Counter("govbus_exporter_refresh_errors", "Refreshes that failed (the last values are served)",
                              registry=registry)
        self.last_refresh = Gauge("govbus_exporter_last_refresh_timestamp_seconds",
                                  "When the last refresh that read everything ended (unix seconds)", registry=registry)
        self.duration = Gauge("govbus_exporter_refresh_duration_seconds", "How long the last complete refresh took",
                              registry=registry)
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        """Close the broker reader made here (its consumers: one per watched group); one handed in is the
        caller's."""
        if self._own_reader:
            self._reader.close()

    def run(self) -> None:
        """Refresh every ``GOVBUS_EXPORTER_REFRESH_SECONDS`` until :meth:`stop`."""
        log.info("exporter starting", extra={"settings": self._settings.model_dump(mode="json", exclude={"kafka"}),
                                             "principal": self._settings.kafka.username})
        while not self._stop.is_set():
            started = time.monotonic()
            self.refresh()
            self._stop.wait(max(0.0, self._settings.exporter_refresh_seconds - (time.monotonic() - started)))

    def refresh(self) -> bool:
        """Read everything once and replace the families read; False (and counted) if a step failed."""
        started, now = time.monotonic(), time.time()
        failed: list[str] = []
        sharing = self._attempt("subscriptions and grants", self._store.load, failed)
        read = self._attempt("offsets", lambda: self._read(sharing, now), failed)
        if read is not None:
            reading, subscriptions = read
            self._families.replace("groups", group_families(reading, now))
            self._families.replace("topics", topic_families(reading, self._kinds))
            if sharing is not None:
                lags = subscription_lags(subscriptions, reading.ends, reading.times, self._idle,
                                         self._settings.exporter_subscriber_silent_after_seconds, now)
                self._families.replace("subscriptions", subscription_families(lags))
            if sources_topic(self._prefix) in reading.topics:
                self._attempt("sources", self._sources.refresh, failed)
        if sharing is not None:
            moment = dt.datetime.fromtimestamp(now, dt.UTC)
            self._families.replace("grants", grant_families(grant_expiries(sharing.grants.values(), moment)))
        seconds = time.monotonic() - started
        if failed:
            self.errors.inc()
            return False
        self.last_refresh.set(time.time())
        self.duration.set(seconds)
        log.debug("refreshed", extra={"seconds": round(seconds, 3), "requests": self._reader.requests})
        return True

    def _attempt(self, what: str, step: Callable[[], T], failed: list[str]) -> T | None:
        try:
            return step()
        except (GovbusError, KafkaException) as error:
            log.warning("refresh step failed; serving its last values", extra={"step": what, "error": str(error)})
            failed.append(what)
            return None

    def _read(self, sharing: SharingSnapshot | None,
              now: float) -> tuple[Reading, list[SubscriptionPositions]]:
        topics = self._reader.topics(self._kinds.under)
        if sharing is None:
            return self._offsets.read(topics, [], [], now)
        return self._offsets.read(topics, sharing.subscriptions.values(), sharing.grants.values(), now)


def run_exporter(settings: ExporterSettings, registry: CollectorRegistry | None = None,
                 handle_signals: bool = True) -> None:
    """Serve ``/metrics`` and refresh until SIGTERM or SIGINT."""
    registry = registry or CollectorRegistry()
    exporter = Exporter(settings, registry)
    try:
        serve_until_stopped(exporter, settings.exporter_metrics_port, registry, handle_signals, settings.metrics_host)
    finally:
        exporter.close()
