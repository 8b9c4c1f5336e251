"""From the settings (and, for a subscription, the sharing store) to the sources a mirror follows."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from connectors.pg_mirror.settings import MirrorSettings
from connectors.pg_mirror.source import MirrorSource, key_types
from connectors.pg_mirror.table import TableName
from govbus.exceptions import ConfigurationError
from govbus.sharing.authorisation import ItemPlan, authorise
from govbus.sharing.model import DeliveryKind, Subscription
from govbus.sharing.profile_authorisation import profile_name
from govbus.sharing.runtime import consumer_group, source_topic
from govbus.sharing.store import SharingSnapshot
from govbus.topic_names import canonical_topic, profile_topic
from schemas.catalogue.profiles import load_profile

PROFILE_SEPARATOR = ":"


@dataclass(frozen=True)
class Keyed:
    """Where a source's key comes from: its key fields, their Avro types, and whether it is a profile."""

    key_fields: tuple[str, ...]
    key_types: tuple[str, ...]
    profile: bool


def keyed(name: str, catalogue: Any) -> Keyed:
    """Key fields of an item, or of ``profile:<name>``."""
    profile = profile_name(name)
    if profile is None:
        item = catalogue.get(name)
        return Keyed(item.key_fields, key_types(item.record_schema, item.key_fields), False)
    definition = load_profile(profile)
    return Keyed((definition.key_field,), key_types(definition.schema, (definition.key_field,)), True)


def table_for(name: str, prefix: str) -> TableName:
    """``credit_record`` -> ``<prefix>credit_record``; ``profile:enterprise`` -> ``<prefix>profile_enterprise``."""
    return TableName.parse(prefix + name.replace(PROFILE_SEPARATOR, "_"))


def item_sources(settings: MirrorSettings, catalogue: Any) -> list[MirrorSource]:
    """The one source of ``GOVBUS_MIRROR_ITEM``: every field, no masking."""
    name = settings.mirror_item or ""
    key = keyed(name, catalogue)
    profile = profile_name(name)
    topic = settings.mirror_topic or (profile_topic(profile, settings.topic_prefix) if profile
                                      else canonical_topic(name, settings.topic_prefix))
    table = (TableName.parse(settings.mirror_table) if settings.mirror_table
             else table_for(name, settings.mirror_table_prefix or ""))
    return [MirrorSource(name, topic, table, key.key_fields, key.key_types, envelope=not key.profile)]


def subscription_of(settings: MirrorSettings, snapshot: SharingSnapshot) -> Subscription:
    """The subscription to mirror, checked to deliver to PostgreSQL."""
    name = settings.mirror_subscription or ""
    subscription = snapshot.subscriptions.get(name)
    if subscription is None:
        known = ", ".join(sorted(snapshot.subscriptions)) or "none"
        raise ConfigurationError(f"no subscription {name!r} on the bus (known: {known}); add it with "
                                 "`govbus subscriptions add FILE`")
    if subscription.delivery.kind is not DeliveryKind.POSTGRES:
        raise ConfigurationError(f"subscription {name!r} delivers by {subscription.delivery.kind.value}, not "
                                 "postgres; the mirror serves subscriptions with delivery.kind: postgres")
    return subscription


def subscription_sources(settings: MirrorSettings, subscription: Subscription, plans: Sequence[ItemPlan],
                         catalogue: Any) -> list[MirrorSource]:
    """One source per planned item: only its planned fields, masked as planned."""
    prefix = settings.mirror_table_prefix
    if prefix is None:
        prefix = subscription.delivery.table_prefix or ""
    sources = []
    for plan in plans:
        key = keyed(plan.item, catalogue)
        _check_key_delivered(subscription.name, plan, key.key_fields)
        sources.append(MirrorSource(plan.item, source_topic(plan.item, settings.topic_prefix),
                                    table_for(plan.item, prefix), key.key_fields, key.key_types,
                                    envelope=not key.profile, plan=plan))
    return sources


def _check_key_delivered(subscription: str, plan: ItemPlan, key_fields: Sequence[str]) -> None:
    outside = [k for k in key_fields if k not in plan.fields]
    masked = [k for k in key_fields if k in plan.masked]
    if outside:
        raise ConfigurationError(
            f"subscription {subscription!r}: {plan.item} is keyed by {', '.join(key_fields)}, which the "
            f"subscription does not ask for ({', '.join(outside)}); a mirror keeps one row per key: add the key "
            "field(s) to the item's fields")
    if masked:
        raise ConfigurationError(
            f"subscription {subscription!r}: the key field(s) {', '.join(masked)} of {plan.item} are personal and "
            "masked, and masked keys would merge different records into one row; a mirror needs a grant that "
            "lists them under unmasked")


def plans_for(settings: MirrorSettings, snapshot: SharingSnapshot, catalogue: Any) -> tuple[Subscription,
                                                                                          list[ItemPlan]]:
    """The subscription and its plans now (:class:`SubscriptionRefused` if a grant is missing or expired)."""
    subscription = subscription_of(settings, snapshot)
    return subscription, authorise(subscription, catalogue, snapshot.grants.values())


def dsn_of(settings: MirrorSettings, subscription: Subscription | None) -> str:
    """``GOVBUS_MIRROR_DSN``, else the variable the subscription's ``delivery.dsn_env`` names."""
    if settings.mirror_dsn is not None:
        return settings.mirror_dsn.get_secret_value()
    variable = subscription.delivery.dsn_env if subscription else None
    if variable and os.environ.get(variable):
        return os.environ[variable]
    where = f" or {variable} (the subscription's delivery.dsn_env)" if variable else ""
    raise ConfigurationError(f"no database to mirror into: set GOVBUS_MIRROR_DSN{where}")


def group_of(settings: MirrorSettings, sources: Sequence[MirrorSource]) -> str:
    if settings.mirror_group:
        return settings.mirror_group
    if settings.mirror_subscription:
        return consumer_group(settings.mirror_subscription, settings.topic_prefix)
    return f"{settings.topic_prefix}.mirror.{sources[0].table}"
