"""The lag of each subscription's connector group, running or not (pure, given what was read).

A subscription's connector reads, in the group :func:`govbus.sharing.runtime.consumer_group`, the source topic
of each item it is authorised for now (:func:`govbus.sharing.access.authorised_sources`: the same rule its ACLs
follow). Every partition of those topics counts, committed or not: one never committed waits from its first
record, where the connector would start, so a subscription whose connector never ran shows everything
published as waiting. A ``feed`` subscription has no group (the public feed reads without one) and is left
out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from govbus.operations.idle import IdleTracker
from govbus.operations.lag import Lag, PartitionEnds, Position, Target, lag_by_topic, total
from govbus.sharing.access import authorised_sources
from govbus.sharing.item_plan import Catalogue
from govbus.sharing.model import DeliveryKind, Grant, Subscription
from govbus.sharing.runtime import consumer_group


@dataclass(frozen=True)
class SubscriptionPositions:
    """Where one subscription's group stands on every partition it reads now."""

    name: str
    group: str
    positions: dict[Position, int | None]
    """partition -> committed offset, None where the group never committed"""


@dataclass(frozen=True)
class SubscriptionLag:
    name: str
    lag: Lag
    seconds: float
    idle_seconds: float
    silent: bool


def subscription_positions(subscriptions: Iterable[Subscription], catalogue: Catalogue, grants: Iterable[Grant],
                           now: dt.datetime, prefix: str, topics: Mapping[str, list[int]],
                           committed: Mapping[str, Mapping[Position, int]]) -> list[SubscriptionPositions]:
    """Each subscription (but ``feed`` ones) with the partitions of its authorised source topics that exist and
    its group's committed offsets on them."""
    grants = list(grants)
    found = []
    for subscription in sorted(subscriptions, key=lambda s: s.name):
        if subscription.delivery.kind is DeliveryKind.FEED:
            continue
        group = consumer_group(subscription.name, prefix)
        offsets = committed.get(group, {})
        sources = [t for t in authorised_sources(subscription, catalogue, grants, now, prefix) if t in topics]
        positions = {(topic, p): offsets.get((topic, p)) for topic in sources for p in topics[topic]}
        found.append(SubscriptionPositions(subscription.name, group, positions))
    return found


def subscription_lags(found: Iterable[SubscriptionPositions], ends: Mapping[Position, PartitionEnds],
                      times: Mapping[Target, float], idle: IdleTracker, silent_after: float,
                      now: float) -> list[SubscriptionLag]:
    """Lag, idle time and silence of each subscription; ``idle`` remembers movement between refreshes."""
    lags = []
    for subscription in found:
        lag = total(lag_by_topic(subscription.positions, ends, times).values())
        seconds = lag.seconds(now)
        committed = {p: c for p, c in subscription.positions.items() if c is not None}
        idle_seconds = idle.idle(subscription.name, committed, seconds if lag.events else 0.0, now)
        lags.append(SubscriptionLag(subscription.name, lag, seconds, idle_seconds, idle_seconds > silent_after))
    idle.keep_only({s.name for s in lags})
    return lags
