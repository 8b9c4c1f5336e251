"""Deduplication by event id: a re-published event (same ``event_id``) produces no second output.

Each item's agent keeps a faust table of the event ids it has handled, windowed and backed by a
changelog topic, so it survives restarts (a restarted worker reads the changelog back before it
consumes) and forgets old ids:

- **Window**: tumbling windows of ``W`` = ``GOVBUS_NORMALISER_DEDUP_WINDOW_SECONDS`` (default one
  hour) on the Kafka timestamp of the message. An id is looked up in the window of the incoming
  message and in the one before it, so a re-send within ``W`` of the first is always dropped,
  one within ``2W`` may be, and a later one is handled again (downstream consumers still have the
  event id to deduplicate on; the HTTP push sends it as ``Idempotency-Key``).
- **Expiry**: windows expire ``2W`` after they end: faust drops them from memory, and the
  changelog topic (``cleanup.policy=compact,delete``, ``retention.ms`` = ``2W``) drops them from
  Kafka. Ids read back at start-up stay in memory until the next restart. faust expires windows by
  the wall clock while they are placed by message timestamps: when a backlog older than ``2W`` is
  replayed, duplicates are only recognised within one cleanup interval (60 s) of each other.
- **Partitions**: faust writes a table change to the changelog partition of the *event being
  processed*, and a worker only holds the table partitions of its assigned source partitions. A
  re-sent event is therefore only recognised if it lands on the same source partition as the
  first: it must keep its Kafka key (the record key), and every producer to the topic must use
  the same partitioner (librdkafka's default ``consistent_random`` is CRC32; Java clients use
  murmur2: set ``partitioner=murmur2_random`` in librdkafka clients that share topics with Java
  ones). The Publisher SDK, the gateway and the outbox re-send with the same key.
- The event id is recorded after the output was handed to the producer; a worker killed between
  the two can emit an event twice after restart (at-least-once, as without deduplication).
"""

from __future__ import annotations

from typing import Any

import faust

from streams.normalising.topics import table_name


class EventIdTable:
    """The ids of one item's handled events, in tumbling windows (see the module docstring)."""

    def __init__(self, app: faust.App, item: str, window_seconds: float, partitions: int) -> None:
        self.window_seconds = window_seconds
        table = app.Table(table_name(item), default=int, partitions=partitions,
                          help=f"event ids of {item} events already handled")
        self._windows: Any = table.tumbling(window_seconds, expires=2 * window_seconds).relative_to_stream()

    def seen(self, event_id: str) -> bool:
        """Whether ``event_id`` was handled in the current window or the one before (call inside the agent)."""
        windows = self._windows[event_id]
        return bool(windows.current()) or bool(windows.delta(self.window_seconds))

    def mark(self, event_id: str) -> None:
        """Record ``event_id`` as handled (call inside the agent, for the event being processed)."""
        self._windows[event_id] = 1
