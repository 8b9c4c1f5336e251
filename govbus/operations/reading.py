"""One read of the bus's offsets, shared by the exporter and whoever else reports lag the same way.

Given the topics under the prefix (read first, by the caller), :meth:`OffsetsReading.read` reads the watched
groups' commits, every partition's start and end offsets (each marked when its topic is written with
transactions only: :attr:`govbus.operations.lag.PartitionEnds.final_marker`), the subscriptions' positions,
and the times of the oldest waiting records: those found at an earlier read are kept (a record's time never
changes, and a stopped group's oldest waiting record stays the same), the others looked up
(:meth:`govbus.operations.offsets.OffsetReader.timestamps`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import replace

from govbus.operations.lag import Target, targets
from govbus.operations.metrics import Reading
from govbus.operations.offsets import OffsetReader
from govbus.operations.subscriptions import SubscriptionPositions, subscription_positions
from govbus.operations.topic_kinds import TopicKinds
from govbus.sharing.item_plan import Catalogue
from govbus.sharing.model import Grant, Subscription


def watched_groups(prefix: str, more: Iterable[str] = ()) -> tuple[str, ...]:
    """The starts of the group ids watched under ``prefix``: ``<prefix>.``, ``<prefix>-`` and ``more``."""
    return (f"{prefix}.", f"{prefix}-", *more)


class OffsetsReading:
    """Reads offsets as the module docstring says, remembering the times found between reads."""

    def __init__(self, reader: OffsetReader, prefix: str, catalogue: Catalogue,
                 group_prefixes: Iterable[str] = ()) -> None:
        self._reader = reader
        self._prefix = prefix
        self._kinds = TopicKinds(prefix)
        self._catalogue = catalogue
        self._groups = watched_groups(prefix, group_prefixes)
        self._times: dict[Target, int] = {}

    def read(self, topics: dict[str, list[int]], subscriptions: Iterable[Subscription], grants: Iterable[Grant],
             now: float) -> tuple[Reading, list[SubscriptionPositions]]:
        """The reading of ``topics`` (topic -> partitions) at ``now`` (unix seconds), and the positions of
        ``subscriptions`` (authorised by ``grants`` at ``now``)."""
        reader = self._reader
        committed = reader.committed(reader.groups(lambda group: group.startswith(self._groups)), self._kinds.under)
        moment = dt.datetime.fromtimestamp(now, dt.UTC)
        positions = subscription_positions(subscriptions, self._catalogue, grants, moment, self._prefix, topics,
                                           committed)
        ends = {position: replace(found, final_marker=self._kinds.transactional(position[0])) for position, found
                in reader.ends((topic, p) for topic, partitions in topics.items() for p in partitions).items()}
        wanted: set[Target] = set()
        for offsets in committed.values():
            wanted |= targets(offsets, ends)
        for subscription in positions:
            wanted |= targets(subscription.positions, ends)
        known = {target: ms for target, ms in self._times.items() if target in wanted}
        known |= reader.timestamps(wanted - set(known), int(now * 1000))
        self._times = known
        return Reading(topics, ends, committed, {target: ms / 1000 for target, ms in known.items()}), positions
