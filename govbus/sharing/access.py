"""What the grants imply on the broker: the ACLs of departments, subscribers and the connector of each
subscription, derived from the catalogue and the sharing store (pure: no broker here).

===============================  ===================================================================
principal                        allowed (everything else is denied by the broker's authorizer)
===============================  ===================================================================
``department.<d>``               write its department and local dialect topics (prefixed), write its
                                 grants topic, idempotent writes (:mod:`govbus.sharing.principals`)
``subscriber.<s>``               (once registered: its subscriptions topic exists) read and write that
                                 topic, read the grants (the record of approved sharing, which its
                                 declarations are checked against; other subscribers' subscriptions
                                 stay hidden); read the delivery topic of each of its
                                 ``delivery.kind: kafka`` subscriptions, with groups ``<prefix>.subscriber.<s>.*``
``connector.<subscription>``     read the source topic (canonical or profile) of each item the
                                 subscription is authorised for *now* (unconditional, or under an
                                 active grant; a refused item adds nothing), its consumer group, the
                                 control topics; write the audit, its parked topic and (kafka
                                 delivery) its delivery topic
``connector.public-feed``        read the canonical topics of the items open to the public
===============================  ===================================================================

The reconciler (:mod:`govbus.sharing.acl_sync`) makes the broker hold exactly these, so a grant that is
added, revoked or expires changes what a connector may read within one reconciliation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from confluent_kafka.admin import AclBinding, AclOperation, ResourcePatternType, ResourceType

from govbus import identities
from govbus.exceptions import AuthorizationError, CatalogueError
from govbus.sharing.acl_bindings import allow, idempotent_writes, user
from govbus.sharing.authorisation import plan_request
from govbus.sharing.item_plan import Catalogue
from govbus.sharing.model import DeliveryKind, Grant, Subscription
from govbus.sharing.principals import department_acls
from govbus.sharing.runtime import consumer_group, redeliver_group, source_topic
from govbus.topic_names import (
    audit_topic,
    canonical_topic,
    control_prefix,
    delivery_topic,
    grants_prefix,
    parked_topic,
    subscriptions_topic,
)

PUBLIC_FEED = "public-feed"
FEED_GROUPS = "govbus-public-feed-"  # the prefix of the public feed's replay consumer groups
READ = (AclOperation.READ, AclOperation.DESCRIBE)
WRITE = (AclOperation.WRITE, AclOperation.DESCRIBE)
WRITE_CREATE = (AclOperation.WRITE, AclOperation.DESCRIBE, AclOperation.CREATE)


def authorised_sources(subscription: Subscription, catalogue: Catalogue, grants: Sequence[Grant],
                       now: dt.datetime, prefix: str) -> list[str]:
    """The source topics of the items ``subscription`` may receive at ``now`` (each item on its own: a
    refused item is left out, the others stay)."""
    topics = []
    for request in subscription.items:
        try:
            plan_request(request, subscription.subscriber, catalogue, grants, now)
        except (AuthorizationError, CatalogueError):
            continue
        topics.append(source_topic(request.item, prefix))
    return sorted(set(topics))


def connector_acls(subscription: Subscription, catalogue: Catalogue, grants: Sequence[Grant],
                   now: dt.datetime, prefix: str) -> list[AclBinding]:
    """What the platform's connector of ``subscription`` may do now."""
    principal = user(identities.principal_key("connector", subscription.name))
    acls = [acl for topic in authorised_sources(subscription, catalogue, grants, now, prefix)
            for acl in allow(principal, ResourceType.TOPIC, topic, READ)]
    acls += [acl for group in (consumer_group(subscription.name, prefix), redeliver_group(subscription.name, prefix))
             for acl in allow(principal, ResourceType.GROUP, group, [AclOperation.READ])]
    acls += allow(principal, ResourceType.TOPIC, control_prefix(prefix), READ, ResourcePatternType.PREFIXED)
    acls += allow(principal, ResourceType.TOPIC, audit_topic(prefix), WRITE_CREATE)
    acls += allow(principal, ResourceType.TOPIC, parked_topic(subscription.name, prefix), WRITE_CREATE + READ)
    if subscription.delivery.kind is DeliveryKind.KAFKA:
        acls += allow(principal, ResourceType.TOPIC, delivery_topic(subscription.subscriber, subscription.name, prefix),
                      WRITE_CREATE)
    return acls + idempotent_writes(principal)


def subscriber_acls(subscriber: str, subscriptions: Iterable[Subscription], prefix: str) -> list[AclBinding]:
    """What subscribing system ``subscriber`` may do: declare its subscriptions, read its kafka deliveries."""
    principal = user(identities.principal_key("subscriber", subscriber))
    acls = allow(principal, ResourceType.TOPIC, subscriptions_topic(subscriber, prefix), WRITE + READ)
    acls += allow(principal, ResourceType.TOPIC, grants_prefix(prefix), READ, ResourcePatternType.PREFIXED)
    kafka = [s for s in subscriptions if s.subscriber == subscriber and s.delivery.kind is DeliveryKind.KAFKA]
    for subscription in kafka:
        acls += allow(principal, ResourceType.TOPIC, delivery_topic(subscriber, subscription.name, prefix), READ)
    if kafka:
        acls += allow(principal, ResourceType.GROUP, subscriber_groups(subscriber, prefix), [AclOperation.READ],
                      ResourcePatternType.PREFIXED)
    return acls + idempotent_writes(principal)


def subscriber_groups(subscriber: str, prefix: str) -> str:
    """The prefix of the consumer groups a subscriber's own Kafka clients may use."""
    return f"{prefix}.subscriber.{subscriber}."


def public_feed_acls(catalogue: Any, prefix: str) -> list[AclBinding]:
    """The public feed reads the canonical topics of the items open to the public, nothing else."""
    principal = user(identities.principal_key("connector", PUBLIC_FEED))
    acls = [acl for item in catalogue.items() if item.open_to_public
            for acl in allow(principal, ResourceType.TOPIC, canonical_topic(item.name, prefix), READ)]
    # its replay consumer assigns partitions and commits nothing, but librdkafka still looks up its group
    return acls + allow(principal, ResourceType.GROUP, FEED_GROUPS, [AclOperation.READ], ResourcePatternType.PREFIXED)


def sharing_acls(catalogue: Any, subscriptions: Iterable[Subscription], grants: Iterable[Grant],
                 now: dt.datetime, prefix: str, subscribers: Iterable[str] = ()) -> set[AclBinding]:
    """Every ACL the catalogue and the declared subscriptions and grants imply at ``now``: departments,
    subscribers (those with a subscription, and ``subscribers`` registered without one yet), connectors and
    the public feed."""
    subscriptions = list(subscriptions)
    grants = list(grants)
    departments = sorted({item.department for item in catalogue.items()})
    acls = {acl for department in departments for acl in department_acls(department, prefix)}
    for subscriber in sorted({s.subscriber for s in subscriptions} | set(subscribers)):
        acls.update(subscriber_acls(subscriber, subscriptions, prefix))
    for subscription in subscriptions:
        acls.update(connector_acls(subscription, catalogue, grants, now, prefix))
    acls.update(public_feed_acls(catalogue, prefix))
    return acls
