"""Deduplication by event id: a re-published event (same ``event_id``) produces no second output.

The normaliser keeps the ids of the events it handled in its Quix state store (RocksDB, backed
by a compacted changelog topic written in the same Kafka transaction as the outputs, so an id is
committed exactly when its output is):

- **Scope**: Quix scopes state by the message key, so an id is looked up among the events of the
  same source topic and key. A re-sent event must keep its Kafka key (the record key as the
  department spells it), which the Publisher SDK, the gateway and the outbox do; a message
  without a key is not deduplicated (all keyless messages would share one scope).
- **Window**: each id is stored with an event-time TTL of ``W`` =
  ``GOVBUS_NORMALISER_DEDUP_WINDOW_SECONDS`` (default one hour) from the message's Kafka
  timestamp: a re-send within ``W`` of the first is dropped, a later one is handled again
  (downstream consumers still have the event id to deduplicate on). Expired ids are swept from
  the store and tombstoned in the changelog, so the state does not grow without bound.
"""

from __future__ import annotations

from datetime import timedelta

from streams.engine import KeyState


class EventIdWindow:
    """The ids of handled events, each kept for ``window_seconds`` of event time (see the module docstring)."""

    def __init__(self, window_seconds: float) -> None:
        self.ttl = timedelta(seconds=window_seconds)

    def seen(self, state: KeyState, event_id: str) -> bool:
        """Whether ``event_id`` was handled within the window (``state`` is the current message's)."""
        return state.get(event_id) is not None

    def mark(self, state: KeyState, event_id: str) -> None:
        """Record ``event_id`` as handled (written with the output, in the same transaction)."""
        state.set(event_id, 1, ttl=self.ttl)
