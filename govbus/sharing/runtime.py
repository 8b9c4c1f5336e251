"""Conventions every subscriber connector shares: its consumer group and the topics it reads."""

from __future__ import annotations

from govbus.sharing.authorisation import ItemPlan
from govbus.topic_names import canonical_topic, profile_topic

PROFILE_PREFIX = "profile:"
"""A subscription asks for a profile as ``item: profile:enterprise``."""


def consumer_group(subscription: str, prefix: str) -> str:
    """The consumer group of a subscription's connector; its committed offsets are its position."""
    return f"{prefix}.subscription.{subscription}"


def source_topic(plan: ItemPlan, prefix: str) -> str:
    """Where a plan's records come from: the item's canonical topic, or a profile's topic."""
    if plan.item.startswith(PROFILE_PREFIX):
        return profile_topic(plan.item[len(PROFILE_PREFIX):], prefix)
    return canonical_topic(plan.item, prefix)
