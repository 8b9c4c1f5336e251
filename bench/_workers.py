"""Stream-processor workers for the benchmarks: run one as a process, read its Prometheus counters.

Every worker gets its own metrics port and its own ``GOVBUS_STREAMS_STATE_DIR`` (Quix keeps RocksDB
state per worker), and is stopped by PID (SIGTERM, then SIGKILL) when its ``with`` block ends.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from govbus.platform.components import Component, start_component
from govbus.platform.processes import free_port
from streams.normalising.settings import NormaliserSettings

SCRAPE_EVERY = 0.1
"""Seconds between two scrapes of a worker's /metrics while a rate is measured."""


@dataclass(frozen=True)
class Worker:
    component: Component
    metrics_port: int

    def counter(self, name: str) -> float:
        """The sum of every sample of counter ``name`` (``..._total``), 0 while /metrics does not answer."""
        return scrape(self.metrics_port).get(name, 0.0)

    def check_alive(self) -> None:
        if not self.component.alive():
            raise RuntimeError(f"{self.component.name} exited; see {self.component.log_path}")


def scrape(port: int) -> dict[str, float]:
    """Every sample of ``http://127.0.0.1:port/metrics`` summed by sample name ({} if it does not answer)."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return {}
    sums: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            sums[sample.name] = sums.get(sample.name, 0.0) + sample.value
    return sums


@contextmanager
def running(module: str, name: str, env: dict[str, str], port_variable: str, directory: Path) -> Iterator[Worker]:
    """``python -m module`` with ``env``, its metrics on a free port (``port_variable``) and its state in
    ``directory/name``; its log is ``directory/name.log``."""
    port = free_port()
    env = {**env, port_variable: str(port), "GOVBUS_STREAMS_STATE_DIR": str(directory / name),
           "GOVBUS_LOG_LEVEL": env.get("GOVBUS_LOG_LEVEL", "WARNING")}
    component = start_component(name, module, env, directory / f"{name}.log")
    try:
        yield Worker(component, port)
    finally:
        component.stop(timeout=20)


@dataclass(frozen=True)
class Commits:
    """How often a worker commits its transactions: ``GOVBUS_STREAMS_COMMIT_INTERVAL``, and while the engine's
    commit pacer judges it behind ``GOVBUS_STREAMS_BACKLOG_COMMIT_INTERVAL`` (None: its default; equal to the
    interval: the pacer off, "pinned")."""

    interval: float
    backlog_interval: float | None = None

    def env(self) -> dict[str, str]:
        env = {"GOVBUS_STREAMS_COMMIT_INTERVAL": str(self.interval)}
        if self.backlog_interval is not None:
            env["GOVBUS_STREAMS_BACKLOG_COMMIT_INTERVAL"] = str(self.backlog_interval)
        return env


def normaliser(settings: NormaliserSettings, directory: Path, commits: Commits, dedup: bool = True,
               ) -> AbstractContextManager[Worker]:
    """The real normaliser worker (``python -m streams.normaliser``, exactly-once) over ``settings``' topics with a
    fresh app id (so it reads its sources from the beginning), committing as ``commits`` says."""
    app_id = f"bench-normaliser-{uuid.uuid4().hex[:6]}"
    env = {"GOVBUS_KAFKA__BOOTSTRAP": settings.kafka.bootstrap, "GOVBUS_REGISTRY__URL": settings.registry.url,
           "GOVBUS_TOPIC_PREFIX": settings.topic_prefix, "GOVBUS_NORMALISER_ITEMS": ",".join(settings.normaliser_items),
           "GOVBUS_NORMALISER_APP_ID": app_id, "GOVBUS_NORMALISER_PARTITIONS": str(settings.normaliser_partitions),
           "GOVBUS_NORMALISER_DEDUP": str(dedup).lower(), **commits.env()}
    return running("streams.normaliser", app_id, env, "GOVBUS_NORMALISER_METRICS_PORT", directory)


@dataclass(frozen=True)
class Scrape:
    at: float
    """time.perf_counter() just before the request"""
    count: float


def counted_rate(worker: Worker, counter: str, count: int, timeout: float = 600) -> float:
    """Per second of ``counter`` while it goes from 0 to ``count``, start-up excluded.

    /metrics is scraped every :data:`SCRAPE_EVERY` s; the rate is taken between the first scrape that
    shows a counted record and the last one before ``count`` is reached, so both ends are moments at
    which the worker was busy: neither its start-up nor the idle part of the last scrape interval count.
    """
    scrapes: list[Scrape] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = Scrape(time.perf_counter(), worker.counter(counter))
        if now.count >= count:
            return _rate(scrapes or [now], now)
        if now.count > 0:
            scrapes.append(now)
        worker.check_alive()
        time.sleep(SCRAPE_EVERY)
    raise RuntimeError(f"{worker.component.name} did not count {count} in {timeout:.0f} s; see "
                       f"{worker.component.log_path}")


def _rate(busy: list[Scrape], done: Scrape) -> float:
    first, last = busy[0], busy[-1]
    if last.at - first.at < 5 * SCRAPE_EVERY:  # too few scrapes inside the run: take the end as well
        last = done
    if last.at <= first.at:
        raise RuntimeError("the worker was done before a second scrape: give it more records")
    return (last.count - first.count) / (last.at - first.at)
