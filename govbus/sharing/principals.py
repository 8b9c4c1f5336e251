"""Who is who on the broker: one principal per department, with only the ACLs publishing needs.

A department's principal (user ``department.<slug>``, key ``department:<slug>`` in a credentials file,
:mod:`govbus.identities`)
may write and describe its own department and dialect topics (``<prefix>.dept.<slug>.*``,
``<prefix>.local.<slug>.*``: prefixed ACLs, so items the catalogue adds later are covered) and its grants
topic, and write idempotently; it reads nothing. Everything else is denied by the broker's authorizer.
The other principals' ACLs: :mod:`govbus.sharing.access` and :mod:`govbus.sharing.processor_access`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from govbus import clients, identities
from govbus.connection import KafkaConnection
from govbus.exceptions import PlatformError
from govbus.sharing.acl_bindings import allow, idempotent_writes, user
from govbus.topic_names import department_topic, grants_topic, local_topic

SCRAM_ITERATIONS = 8192


def department_acls(department: str, prefix: str) -> list[AclBinding]:
    """What ``department``'s principal may do: write (and describe) its own department and local dialect
    topics, and write and read its own grants topic (the platform creates it; reading it lets the department list
    and revoke its grants); idempotent writes."""
    principal = user(identities.principal_key("department", department))
    writes = (AclOperation.WRITE, AclOperation.DESCRIBE)
    prefixed = [department_topic(department, "x", prefix)[:-1],  # '<prefix>.dept.<department>.'
                local_topic(department, "x", "x", prefix)[:-3]]  # '<prefix>.local.<department>.'
    return [*(acl for topics in prefixed for acl in allow(principal, ResourceType.TOPIC, topics, writes,
                                                           ResourcePatternType.PREFIXED)),
            *allow(principal, ResourceType.TOPIC, grants_topic(department, prefix), (*writes, AclOperation.READ)),
            *idempotent_writes(principal)]


def provision(admin: KafkaConnection, users: Mapping[str, str], acls: Iterable[AclBinding],
              timeout: float = 30.0) -> None:
    """Create or update the SCRAM credential of each user (name -> password) and create ``acls``
    (existing ones are kept); :class:`PlatformError` naming what the broker refused."""
    client = clients.admin(admin)
    upserts = [UserScramCredentialUpsertion(user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS),
                                            password.encode()) for user, password in users.items()]
    bindings = list(acls)
    try:
        for future in (client.alter_user_scram_credentials(upserts) if upserts else {}).values():
            future.result(timeout=timeout)
        for future in (client.create_acls(bindings) if bindings else {}).values():
            future.result(timeout=timeout)
    except Exception as error:  # KafkaException, or a timeout: one line naming the step
        raise PlatformError(f"the broker refused the principals or their ACLs: {error}") from error
