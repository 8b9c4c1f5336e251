"""Helpers of the feed tests: the feed as a subprocess, the expected entries computed in Python."""

from __future__ import annotations

import datetime as dt
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from connectors.public_feed.disclosure import public_record
from govbus.platform import processes
from schemas.catalogue import DataItem
from testsupport.canonical import CanonicalWriter, Step


@dataclass
class FeedProcess:
    pid: int
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, **params: Any) -> httpx.Response:
        """GET ``path`` (which may carry its own query) with ``params`` added."""
        with httpx.Client(timeout=10) as client:
            return client.get(self.url + path, params=params or None)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        processes.stop_process(self.pid, timeout=15)

    def wait_loaded(self, entries: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            if not processes.is_alive(self.pid):
                raise AssertionError(f"the feed exited:\n{self.log()[-3000:]}")
            try:
                last = self.get("/healthz").json()
                if last["loaded"] and last["entries"] == entries:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"the feed did not load {entries} entries in {timeout} s (last: {last})\n"
                             f"{self.log()[-3000:]}")


def start_feed(env: dict[str, str], log_path: Path) -> FeedProcess:
    port = processes.free_port()
    pid = processes.start_process([sys.executable, "-m", "connectors.public_feed"], log_path,
                                  env={**env, "GOVBUS_FEED_PORT": str(port)})
    return FeedProcess(pid, port, log_path)


@dataclass
class Published:
    """Everything the tests wrote, and the entries the feed should show (newest first)."""

    items: dict[str, DataItem] = field(default_factory=dict)
    writers: dict[str, CanonicalWriter] = field(default_factory=dict)
    steps: dict[str, list[Step]] = field(default_factory=dict)
    clock: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 1, 1, tzinfo=dt.UTC))

    def stamp(self, steps: list[Step]) -> list[Step]:
        """The steps with published times 1 s apart, after every earlier one."""
        out = []
        for step in steps:
            self.clock += dt.timedelta(seconds=1)
            out.append(Step(step.operation, step.key, step.record, self.clock))
        return out

    def write(self, item: str, steps: list[Step]) -> None:
        stamped = self.stamp(steps)
        self.writers[item].write(stamped)
        self.steps.setdefault(item, []).extend(stamped)

    def expected(self, item: str | None = None) -> list[tuple[str, str, str, dict[str, Any]]]:
        """(published_at, item, key, public record) of every current record of the open items, newest first."""
        rows = []
        for name, steps in self.steps.items():
            if (item is not None and name != item) or not self.items[name].open_to_public:
                continue
            state: dict[str, Step] = {}
            for step in steps:
                if step.operation == "UPSERT":
                    state[step.key] = step
                else:
                    state.pop(step.key, None)
            rows += [(_iso(s.published_at), name, key, public_record(self.items[name], s.record or {}))
                     for key, s in state.items()]
        return sorted(rows, key=lambda row: row[0], reverse=True)


def _iso(moment: dt.datetime | None) -> str:
    assert moment is not None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
