"""Lag from offsets alone (pure): how many events wait for a consumer group, and since when.

For each partition a group reads, its position is its committed offset, or the log start offset when it has
committed none there (the connectors start from the earliest record) or when retention removed the records
up to its commit. The events waiting are the end offset (the last stable offset: what a ``read_committed``
consumer can reach) minus that position; the oldest waiting record is the one at the position, whose
timestamp :mod:`govbus.operations.age_search` finds without reading it.

Offsets count transaction markers too. A consumer commits the offset after the last record it handled, which,
at the end of a transaction, is the offset of the transaction's commit marker: it has consumed everything, yet
its commit stops one short of the end. On a topic written with transactions only (the stream processors'
outputs: canonical, profile and dead-letter topics, see :meth:`govbus.operations.topic_kinds.TopicKinds.transactional`)
the last offset before the last stable offset is always such a marker, so a position there counts as caught up
(:attr:`PartitionEnds.final_marker`); elsewhere a marker in the middle is counted as an event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Position = tuple[str, int]
"""(topic, partition)"""
Target = tuple[str, int, int]
"""(topic, partition, offset): a record whose timestamp is looked for"""


@dataclass(frozen=True)
class PartitionEnds:
    """A partition's log start offset and end offset (last stable offset)."""

    start: int
    end: int
    final_marker: bool = False
    """the offset before ``end`` is a transaction's marker (its topic is written with transactions only)"""


def waiting_from(committed: int | None, ends: PartitionEnds) -> int:
    """The offset of the first record a group at ``committed`` (None: never committed) has not consumed."""
    position = ends.start if committed is None else max(committed, ends.start)
    return ends.end if ends.final_marker and position == ends.end - 1 else position


def waiting_events(committed: int | None, ends: PartitionEnds) -> int:
    """Events between the group's position and the end (0 when caught up)."""
    return max(0, ends.end - waiting_from(committed, ends))


def oldest_target(position: Position, committed: int | None, ends: PartitionEnds) -> Target | None:
    """The record whose timestamp says how long events have waited in ``position``; None when none waits."""
    offset = waiting_from(committed, ends)
    return (position[0], position[1], offset) if offset < ends.end else None


@dataclass(frozen=True)
class Lag:
    """Events waiting in some partitions, and the time (unix seconds) of the oldest of them."""

    events: int = 0
    oldest: float | None = None
    """None when nothing waits, or when no waiting record's time could be found"""

    def seconds(self, now: float) -> float:
        """How long the oldest waiting event has waited (0 when none waits; never negative)."""
        return 0.0 if self.events == 0 or self.oldest is None else max(0.0, now - self.oldest)

    def plus(self, other: Lag) -> Lag:
        oldest = [t for t in (self.oldest, other.oldest) if t is not None]
        return Lag(self.events + other.events, min(oldest) if oldest else None)


def partition_lag(position: Position, committed: int | None, ends: PartitionEnds,
                  times: Mapping[Target, float]) -> Lag:
    """The lag of one partition, given the timestamps found (unix seconds) of the records waiting first."""
    target = oldest_target(position, committed, ends)
    return Lag(waiting_events(committed, ends), None if target is None else times.get(target))


def lag_by_topic(positions: Mapping[Position, int | None], ends: Mapping[Position, PartitionEnds],
                 times: Mapping[Target, float]) -> dict[str, Lag]:
    """Per topic, the lag summed over the partitions of ``positions`` (partition -> committed offset or None)
    that exist (a partition without ends is skipped: its topic was deleted)."""
    lags: dict[str, Lag] = {}
    for position, committed in positions.items():
        found = ends.get(position)
        if found is not None:
            lags[position[0]] = lags.get(position[0], Lag()).plus(partition_lag(position, committed, found, times))
    return lags


def total(lags: Iterable[Lag]) -> Lag:
    summed = Lag()
    for lag in lags:
        summed = summed.plus(lag)
    return summed


def targets(positions: Mapping[Position, int | None], ends: Mapping[Position, PartitionEnds]) -> set[Target]:
    """The records whose timestamps the lag of ``positions`` needs."""
    found = (oldest_target(p, c, ends[p]) for p, c in positions.items() if p in ends)
    return {target for target in found if target is not None}
