"""The platform's principals on a secured broker: their credentials, SCRAM users, static ACLs and control topics.

One implementation for every broker govbus runs on: ``govbus dev up`` (secured) provisions its own node with
it, and ``govbus principals create|provision`` a broker govbus does not start itself (docker-compose.yml, a
cluster). The principals every platform has (:func:`platform_keys`): the administrator (the credentials file's
first entry, the broker's super user), the operator, a principal per department of the catalogue, the stream
processors and the public feed; a deployment adds its subscribers and subscriptions' connectors by key.
Static ACLs are created here once; the ACLs grants imply are the reconciler's (:mod:`govbus.sharing.acl_sync`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from confluent_kafka.admin import AclBinding

from govbus import identities
from govbus.connection import KafkaConnection
from govbus.platform import credentials
from govbus.sharing import access, principals, processor_access
from govbus.sharing.store import SharingStore
from govbus.topic_names import TopicSettings
from schemas.catalogue import Catalogue, load_catalogue


def departments(catalogue: Catalogue) -> list[str]:
    """Every department that provides an item of ``catalogue``."""
    return sorted({item.department for item in catalogue.items()})


def platform_keys(catalogue: Catalogue) -> list[str]:
    """The keys of the principals every platform has besides its administrator: the operator, each department of
    ``catalogue``, the stream processors and the public feed."""
    return [identities.OPERATOR, *(identities.principal_key("department", d) for d in departments(catalogue)),
            *(identities.principal_key("processor", p) for p in processor_access.DEFAULT_APP_IDS),
            identities.principal_key("connector", access.PUBLIC_FEED)]


def static_acls(catalogue: Catalogue, prefix: str) -> list[AclBinding]:
    """The ACLs no grant changes, under topic prefix ``prefix``: the operator's, the public feed's, each
    department's and each stream processor's."""
    return [*processor_access.operator_acls(prefix), *access.public_feed_acls(catalogue, prefix),
            *(acl for d in departments(catalogue) for acl in principals.department_acls(d, prefix)),
            *(acl for p in processor_access.DEFAULT_APP_IDS for acl in processor_access.processor_acls(p, prefix))]


def ensure_credentials(path: Path, extra: Sequence[str] = ()) -> dict[str, dict[str, str]]:
    """The credentials in ``path`` (mode 0600), created or completed with a random password for the administrator,
    every principal of :func:`platform_keys` and each of ``extra`` (keys such as ``subscriber:hz-centre``) it does
    not hold yet; existing passwords are kept."""
    keys = dict.fromkeys([*platform_keys(load_catalogue()), *extra])
    return credentials.with_principals(path, {key: identities.user_name(key) for key in keys})


def provision_principals(admin: KafkaConnection, path: Path, extra: Sequence[str] = ()) -> list[str]:
    """As the administrator (``admin``), give the broker the SCRAM-SHA-512 credential of every principal of
    :func:`platform_keys` and of ``extra`` (their credentials added to ``path`` when missing), the static ACLs
    (:func:`static_acls`) under GOVBUS_TOPIC_PREFIX, each department's grants topic and each subscriber of
    ``extra``'s subscriptions topic; idempotent. The user names provisioned; :class:`PlatformError` naming what
    the broker refused."""
    catalogue = load_catalogue()
    keys = list(dict.fromkeys([*platform_keys(catalogue), *extra]))
    found = credentials.with_principals(path, {key: identities.user_name(key) for key in keys})
    prefix = TopicSettings().topic_prefix
    principals.provision(admin, {found[key]["username"]: found[key]["password"] for key in keys},
                         static_acls(catalogue, prefix))
    store = SharingStore(admin, prefix)
    store.register_departments(departments(catalogue))
    for key in keys:
        kind, _, name = key.partition(":")
        if kind == "subscriber":
            store.register_subscriber(name)
    return [found[key]["username"] for key in keys]
