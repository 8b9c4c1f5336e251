"""The source and system metrics as one Prometheus collector, for the exporter to register.

    collector = SourceCollector.from_settings(SourcesSettings())   # or SourceCollector(read, catalogue, ...)
    registry.register(collector)
    collector.refresh()          # on the exporter's refresh loop: reads <prefix>.sources (raises on failure)

:meth:`SourceCollector.collect` judges the last successful read at scrape time
(:func:`govbus.operations.sources.source_statuses`, :func:`govbus.operations.systems.system_statuses`), so a
silence keeps growing between reads; before the first read it yields the metric families without samples (a
system is not reported "never published" only because nothing was read yet).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from functools import partial

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from govbus.last_events import LastEvents, read_last_events
from govbus.operations.sources import SourcesSettings, source_metrics, source_statuses
from govbus.operations.systems import system_metrics, system_statuses
from schemas.catalogue import Catalogue, load_catalogue
from schemas.catalogue.register import SystemRegister, load_register


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SourceCollector(Collector):
    """``govbus_source_*`` and ``govbus_system_*`` from the last read of the sources topic."""

    def __init__(self, read: Callable[[], LastEvents], catalogue: Catalogue, register: SystemRegister,
                 grace_seconds: float, clock: Callable[[], dt.datetime] = _now) -> None:
        self._read = read
        self._catalogue = catalogue
        self._register = register
        self._grace = grace_seconds
        self._clock = clock
        self._last: LastEvents | None = None

    @classmethod
    def from_settings(cls, settings: SourcesSettings) -> SourceCollector:
        """Reading ``settings``' sources topic, judged against the packaged catalogue and register."""
        read = partial(read_last_events, settings.kafka, settings.topic_prefix, settings.sources_read_timeout_seconds)
        return cls(read, load_catalogue(), load_register(), settings.sources_grace_seconds)

    def refresh(self) -> LastEvents:
        """Read the sources topic now (what it raises, :class:`~govbus.exceptions.PlatformError`, is the caller's
        to count); what it holds."""
        self._last = self._read()
        return self._last

    def collect(self) -> Iterable[GaugeMetricFamily]:
        last = self._last
        now = self._clock()
        sources = source_statuses(last, self._catalogue, self._register, now, self._grace) if last else []
        systems = system_statuses(last, self._catalogue, self._register, now, self._grace) if last else []
        yield from source_metrics(sources)
        yield from system_metrics(systems)
