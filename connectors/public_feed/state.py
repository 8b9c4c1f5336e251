"""The feed's state: the current record of every key of the served items, newest first by published time.

An upsert replaces the key's entry, a delete (or tombstone) removes it. Entries are kept in one
sorted index per item and one over all items, ordered by (published time, event id), so a page is
a slice. Every method takes the state's lock: a consumer thread writes while request handlers read.
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_Order = tuple[dt.datetime, str, str, str]


@dataclass(frozen=True)
class Entry:
    """One record as the public sees it: personal fields already removed, values JSON-ready."""

    event_id: str
    item: str
    key: str
    occurred_at: dt.datetime
    published_at: dt.datetime
    record: Mapping[str, Any]

    @property
    def order(self) -> _Order:
        return (self.published_at, self.event_id, self.item, self.key)


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
    def __init__(self, items: list[str]) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], Entry] = {}
        self._indexes: dict[str | None, list[_Order]] = {None: [], **{item: [] for item in items}}

    def put(self, entry: Entry) -> None:
        """``entry`` becomes the current record of its key."""
        with self._lock:
            self._remove((entry.item, entry.key))
            self._entries[(entry.item, entry.key)] = entry
            for index in (self._indexes[None], self._indexes.setdefault(entry.item, [])):
                bisect.insort(index, entry.order)

    def remove(self, item: str, key: str) -> None:
        """The key has no record any more (deleted)."""
        with self._lock:
            self._remove((item, key))

    def _remove(self, identity: tuple[str, str]) -> None:
        old = self._entries.pop(identity, None)
        if old is None:
            return
        for index in (self._indexes[None], self._indexes[old.item]):
            at = bisect.bisect_left(index, old.order)
            if at < len(index) and index[at] == old.order:
                del index[at]

    def count(self, item: str | None = None) -> int:
        with self._lock:
            return len(self._indexes.get(item, []))

    def page(self, item: str | None, number: int, per_page: int) -> Page:
        """Page ``number`` (from 1) of ``per_page`` entries, newest first; of one item or of all."""
        with self._lock:
            index = self._indexes.get(item, [])
            end = len(index) - (number - 1) * per_page
            orders = index[max(end - per_page, 0):max(end, 0)]
            entries = [self._entries[(order[2], order[3])] for order in reversed(orders)]
            return Page(entries, len(index), number, per_page)
