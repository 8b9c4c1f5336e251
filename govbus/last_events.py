"""The records of the sources topic (``<prefix>.sources``, :func:`govbus.topic_names.sources_topic`): when the bus
last saw an event from each source, as the normaliser writes it and operators read it.

Two kinds of record, told apart by their key, both JSON values (UTF-8) without any record value in them:

================================================  ==========================================================
key                                               value
================================================  ==========================================================
``<department>/<item>/<source system>``           :class:`LastEvent`: the newest event time seen from that
                                                  source, when the normaliser saw it, how many it counted
``watcher/<app id>``                              :class:`Watcher`: the items a normaliser (its app id)
                                                  reads, refreshed while it runs: what can be judged at all
================================================  ==========================================================

``<department>`` is the department whose topic the event came from (its principal alone may write there, so it
cannot be forged), ``<source system>`` the envelope's ``source_system`` as the publisher wrote it (on a local
dialect topic, as the local system wrote it), or :data:`UNNAMED` when it is no plain name (:func:`source_name`).

The time of an event is the broker record's timestamp (the time the publishing client handed it to the bus; no
later than the normaliser's clock when it read it): neither ``occurred_at`` (the change in the source system,
which may be years old for a back-filled record) nor ``published_at`` (written by a local system's own client,
whose clock nobody checks). A normaliser that restarts or catches up with a backlog reads the records' own
timestamps, so a source's last event does not move when the normaliser was down.

Several records for one key may be in the topic before compaction (workers of one normaliser write the same
source's key, each from the events it read): :func:`merge` keeps the newest ``last_event_at`` per key, so what
a reader gets never goes backwards whatever order the records came in.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from govbus.connection import KafkaConnection
from govbus.topic_names import sources_topic
from govbus.topic_reader import read_topic

WATCHER = "watcher"
"""The first segment of a watcher record's key (no department slug is ``watcher``)."""
WATCHER_REFRESH_SECONDS = 60.0
"""How often a running normaliser rewrites its watcher record: readers take a watcher record older than a few of
these as a normaliser that stopped writing heartbeats."""
UNNAMED = "unnamed"
"""The source system of an event whose envelope names none, or none that fits a metric label."""
_SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.IGNORECASE)
MOST_DIGITS = 6
"""A name with more digits than this, wherever they are (``138-1234-5678``, ``110101-19900307-1234``), could be a
phone or an identity number: it is not a system's name (``jiangsu-etax-v2`` has one)."""


def source_name(raw: object) -> str:
    """The envelope's ``source_system`` if it is a plain name (letters, digits, ``.``, ``_``, ``-``; at most 64
    characters, as a system id of the register is; at most :data:`MOST_DIGITS` digits in all, and no UUID, which
    would be a number or an identifier), else :data:`UNNAMED`: it becomes a key segment and a metric label, so no
    phone or identity number, nor a separator, passes. (A romanised personal name would: no pattern tells it from
    a system's name; the register lists the names expected, and `govbus systems list` shows any other.)"""
    if isinstance(raw, str) and _SOURCE_NAME.fullmatch(raw) and not _UUID.search(raw) \
            and sum(char.isdigit() for char in raw) <= MOST_DIGITS:
        return raw
    return UNNAMED


class LastEvent(BaseModel):
    """The newest event the bus saw from one source (department, item, source system)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    department: str = Field(min_length=1)
    item: str = Field(min_length=1)
    source_system: str = Field(min_length=1)
    last_event_at: AwareDatetime = Field(description="broker timestamp of the newest event from the source")
    last_seen_at: AwareDatetime = Field(description="when the normaliser read that event")
    events: int = Field(ge=0, description="events the writing worker counted (a lower bound with several workers)")

    @property
    def key(self) -> str:
        return source_key(self.department, self.item, self.source_system)


class Watcher(BaseModel):
    """A normaliser that writes heartbeats, and the items whose topics it reads."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    watcher: str = Field(min_length=1, description="the normaliser's app id")
    items: tuple[str, ...]
    started_at: AwareDatetime
    seen_at: AwareDatetime = Field(description="the last time it wrote this record (refreshed while it runs)")

    @property
    def key(self) -> str:
        return watcher_key(self.watcher)


def source_key(department: str, item: str, source_system: str) -> str:
    """``<department>/<item>/<source system>``."""
    return f"{department}/{item}/{source_system}"


def watcher_key(app_id: str) -> str:
    """``watcher/<app id>``."""
    return f"{WATCHER}/{app_id}"


def encode(record: LastEvent | Watcher) -> tuple[bytes, bytes]:
    """The Kafka key and value of ``record``."""
    return record.key.encode(), record.model_dump_json().encode()


def decode(key: bytes | None, value: bytes | None) -> LastEvent | Watcher | None:
    """The record a message holds; None for a tombstone or anything that does not parse (the caller counts it)."""
    if key is None or value is None:
        return None
    model: type[LastEvent] | type[Watcher] = Watcher if key.startswith(f"{WATCHER}/".encode()) else LastEvent
    try:
        return model.model_validate(json.loads(value))
    except (ValidationError, ValueError):
        return None


@dataclass(frozen=True)
class LastEvents:
    """What the sources topic says now: the newest record per source, every watcher, and how many records did not
    parse."""

    sources: dict[str, LastEvent] = field(default_factory=dict)
    watchers: dict[str, Watcher] = field(default_factory=dict)
    unreadable: int = 0

    def watched_items(self) -> frozenset[str]:
        """The items some normaliser reads (or read: a watcher record stays until its app id's next start)."""
        return frozenset(item for watcher in self.watchers.values() for item in watcher.items)

    def last_watcher_seen(self) -> dt.datetime | None:
        """When a normaliser last wrote its watcher record (None: never)."""
        return max((w.seen_at for w in self.watchers.values()), default=None)


def merge(records: Iterable[LastEvent | Watcher | None]) -> LastEvents:
    """The newest event per source (by ``last_event_at``, whatever the order) and the latest record per watcher
    (by ``seen_at``); None entries count as unreadable."""
    sources: dict[str, LastEvent] = {}
    watchers: dict[str, Watcher] = {}
    unreadable = 0
    for record in records:
        if record is None:
            unreadable += 1
        elif isinstance(record, Watcher):
            known = watchers.get(record.key)
            if known is None or record.seen_at >= known.seen_at:
                watchers[record.key] = record
        else:
            sources[record.key] = _newer(sources.get(record.key), record)
    return LastEvents(sources, watchers, unreadable)


def _newer(known: LastEvent | None, record: LastEvent) -> LastEvent:
    if known is None:
        return record
    newest = record if record.last_event_at > known.last_event_at else known
    return newest.model_copy(update={"events": max(known.events, record.events)})


def read_last_events(kafka: KafkaConnection, prefix: str, timeout: float = 30.0) -> LastEvents:
    """What ``<prefix>.sources`` holds now: every record read (no consumer group) and :func:`merge`\\ d;
    :class:`~govbus.exceptions.PlatformError` when the topic is missing or this principal may not read it."""
    messages = read_topic(kafka, sources_topic(prefix), timeout)
    return merge(decode(message.key(), message.value()) for message in messages)
