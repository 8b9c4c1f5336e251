"""The feed's state: the current record of every key of the served items, newest first by published time.

An upsert replaces the key's entry, a delete (or tombstone) removes it. The entries live in a SQLite
database in a temporary file (deleted on :meth:`FeedState.close`), not in the process's memory: the
feed holds every open record, so in memory it would grow with the data. SQLite keeps a bounded page
cache (``CACHE_KIB``) and the operating system's file cache does the rest, so the feed's RSS stays
flat however many records it serves. The file is only a cache: every start rebuilds it from the
topics, so it is written without a journal or fsync. Pages are read with an index on (published time,
event id), per item and over all items. Every method takes the state's lock: a consumer thread writes
while request handlers read.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import tempfile
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CACHE_KIB = 8192
"""SQLite's page cache for the feed's database, in KiB."""

_SCHEMA = """
CREATE TABLE entries (
    item TEXT NOT NULL, key TEXT NOT NULL, event_id TEXT NOT NULL,
    published_us INTEGER NOT NULL, occurred_at TEXT NOT NULL, published_at TEXT NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (item, key)
) WITHOUT ROWID;
CREATE INDEX entries_newest ON entries (published_us, event_id, item, key);
CREATE INDEX entries_item_newest ON entries (item, published_us, event_id, key);
"""
_PAGE = ("SELECT event_id, item, key, occurred_at, published_at, record FROM entries "
         "ORDER BY published_us DESC, event_id DESC, item DESC, key DESC LIMIT ? OFFSET ?")
_ITEM_PAGE = ("SELECT event_id, item, key, occurred_at, published_at, record FROM entries WHERE item = ? "
              "ORDER BY published_us DESC, event_id DESC, key DESC LIMIT ? OFFSET ?")


@dataclass(frozen=True)
class Entry:
    """One record as the public sees it: personal fields already removed, values JSON-ready."""

    event_id: str
    item: str
    key: str
    occurred_at: dt.datetime
    published_at: dt.datetime
    record: Mapping[str, Any]


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    total: int
    number: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


class FeedState:
    """The served items' current records, in a temporary SQLite file under ``directory`` (the system's temporary
    directory by default)."""

    def __init__(self, items: list[str], directory: Path | None = None) -> None:
        self._lock = threading.Lock()
        _remove_orphans(Path(directory or tempfile.gettempdir()))
        handle, name = tempfile.mkstemp(prefix=f"govbus-feed-{os.getpid()}-", suffix=".sqlite", dir=directory)
        os.close(handle)
        self.path = Path(name)
        self._db = sqlite3.connect(name, check_same_thread=False, isolation_level=None)
        for pragma in ("journal_mode = OFF", "synchronous = OFF", f"cache_size = -{CACHE_KIB}",
                       "temp_store = FILE"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.executescript(_SCHEMA)
        self._counts: Counter[str] = Counter(dict.fromkeys(items, 0))

    def put(self, entry: Entry) -> None:
        """``entry`` becomes the current record of its key."""
        row = (entry.item, entry.key, entry.event_id, _micros(entry.published_at), entry.occurred_at.isoformat(),
               entry.published_at.isoformat(), json.dumps(entry.record, ensure_ascii=False))
        with self._lock:
            replaced = self._db.execute("SELECT 1 FROM entries WHERE item = ? AND key = ?",
                                        (entry.item, entry.key)).fetchone()
            self._db.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            if replaced is None:
                self._counts[entry.item] += 1

    def remove(self, item: str, key: str) -> None:
        """The key has no record any more (deleted)."""
        with self._lock:
            if self._db.execute("DELETE FROM entries WHERE item = ? AND key = ?", (item, key)).rowcount:
                self._counts[item] -= 1

    def count(self, item: str | None = None) -> int:
        with self._lock:
            return sum(self._counts.values()) if item is None else self._counts.get(item, 0)

    def page(self, item: str | None, number: int, per_page: int) -> Page:
        """Page ``number`` (from 1) of ``per_page`` entries, newest first; of one item or of all."""
        offset = (number - 1) * per_page
        with self._lock:
            if item is None:
                rows = self._db.execute(_PAGE, (per_page, offset)).fetchall()
                total = sum(self._counts.values())
            else:
                rows = self._db.execute(_ITEM_PAGE, (item, per_page, offset)).fetchall()
                total = self._counts.get(item, 0)
        return Page([_entry(row) for row in rows], total, number, per_page)

    def close(self) -> None:
        """Close the database and delete its file."""
        with self._lock:
            self._db.close()
            self.path.unlink(missing_ok=True)


def _remove_orphans(directory: Path) -> None:
    """Delete the files of feeds that were killed (their process is gone) before they could delete them."""
    for path in directory.glob("govbus-feed-*-*.sqlite"):
        pid = path.name.split("-")[2]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            path.unlink(missing_ok=True)


def _micros(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _entry(row: tuple[str, str, str, str, str, str]) -> Entry:
    event_id, item, key, occurred_at, published_at, record = row
    return Entry(event_id, item, key, dt.datetime.fromisoformat(occurred_at), dt.datetime.fromisoformat(published_at),
                 json.loads(record))
