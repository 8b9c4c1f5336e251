"""Building broker ACL bindings, in one place for every principal's ACLs (departments, processors, the
operator, subscribers and connectors)."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

from govbus import identities

CLUSTER = "kafka-cluster"


def user(key: str) -> str:
    """The ACL principal of the credentials key ``key``: ``User:<user name>``."""
    return f"User:{identities.user_name(key)}"


def allow(principal: str, resource: ResourceType, name: str, operations: Iterable[AclOperation],
          pattern: ResourcePatternType = ResourcePatternType.LITERAL,
          permission: AclPermissionType = AclPermissionType.ALLOW) -> list[AclBinding]:
    """One binding per operation for ``principal`` (``User:...``) on a resource, from any host (ALLOW unless
    ``permission`` says DENY)."""
    return [AclBinding(resource, name, pattern, principal, "*", operation, permission) for operation in operations]


def idempotent_writes(principal: str) -> list[AclBinding]:
    """Idempotent producers (acks=all, the govbus default) need this on the cluster."""
    return allow(principal, ResourceType.BROKER, CLUSTER, [AclOperation.IDEMPOTENT_WRITE])
