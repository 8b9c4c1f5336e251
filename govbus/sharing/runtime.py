"""Conventions every subscriber connector shares: its consumer group and the topics it reads."""

from __future__ import annotations

from govbus.sharing.item_plan import Catalogue
from govbus.sharing.profile_authorisation import PROFILE_PREFIX, profile_name
from govbus.topic_names import canonical_topic, profile_topic
from schemas.catalogue.profiles import load_profile

__all__ = ["PROFILE_PREFIX", "consumer_group", "record_key_fields", "redeliver_group", "source_topic"]


def consumer_group(subscription: str, prefix: str) -> str:
    """The consumer group of a subscription's connector; its committed offsets are its position."""
    return f"{prefix}.subscription.{subscription}"


def redeliver_group(subscription: str, prefix: str) -> str:
    """The consumer group whose committed offsets say which parked events of a subscription were redelivered
    (``govbus subscriptions redeliver``)."""
    return f"{consumer_group(subscription, prefix)}.redeliver"


def source_topic(item: str, prefix: str) -> str:
    """Where a requested item's records come from: its canonical topic, or a profile's (``profile:<name>``)."""
    profile = profile_name(item)
    return profile_topic(profile, prefix) if profile else canonical_topic(item, prefix)


def record_key_fields(item: str, catalogue: Catalogue) -> tuple[str, ...]:
    """The fields a record key of an item (or ``profile:<name>``: its key field) is made of."""
    profile = profile_name(item)
    if profile is not None:
        return (load_profile(profile).key_field,)
    return tuple(catalogue.get(item).key_fields)
