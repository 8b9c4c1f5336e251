"""Before a run publishes: its topics and schemas, its principals and ACLs, the grants and subscriptions, and the
databases of the outbox and the mirror.

A run has a topic prefix of its own (``govbus.scn-<run>``), so its topics, groups and ACLs never mix with another
run's or the platform's, and the checker can read everything of it from the beginning.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from bench.scenario import parties
from bench.scenario.streams_plan import departments, streams
from connectors.outbox.migrate import migrate_dsn
from govbus import identities
from govbus.demo.context import DemoContext
from govbus.platform import credentials
from govbus.platform.postgres import PrivateCluster
from govbus.sharing import access, principals, processor_access
from govbus.sharing.acl_sync import apply, plan
from govbus.sharing.model import Grant
from govbus.sharing.store import SharingStore
from schemas.catalogue import load_catalogue
from streams.dialects import dialects_for
from streams.normalising.settings import NormaliserSettings
from streams.normalising.topics import ensure_normaliser_topics
from streams.profiles.topology import ProfileSettings, ensure_profile_topics

NORMALISER = identities.principal_key("processor", "normaliser")
PROFILES = identities.principal_key("processor", "profiles")


@dataclass
class ScenarioContext(DemoContext):
    """The demo's context (platform, principals, progress) with the run's own prefix and directory."""

    run_dir: Path = Path(".")

    @property
    def prefix(self) -> str:
        return f"govbus.scn-{self.run}"

    @property
    def logs(self) -> Path:
        return self.run_dir / "logs"

    @property
    def normaliser_app_id(self) -> str:
        return f"govbus-scn-normaliser-{self.run}"

    @property
    def profiles_app_id(self) -> str:
        return f"govbus-scn-profiles-{self.run}"

    def store_as(self, key: str) -> SharingStore:
        return SharingStore(self.kafka_as(key), self.prefix)


def normalised_items() -> tuple[str, ...]:
    return tuple(sorted({s.item for s in streams()}))


def prepare_topics(context: ScenarioContext) -> None:
    """The catalogue's topics and schemas, and the stream processors' own topics, under the run's prefix."""
    context.prepare_catalogue()
    ensure_normaliser_topics(NormaliserSettings(
        kafka=context.kafka, registry=context.registry, topic_prefix=context.prefix,
        normaliser_app_id=context.normaliser_app_id, normaliser_items=normalised_items()))
    ensure_profile_topics(ProfileSettings(kafka=context.kafka, registry=context.registry, topic_prefix=context.prefix,
                                          profiles_app_id=context.profiles_app_id))


def secure(context: ScenarioContext) -> None:
    """Every party's principal and the ACLs of the run's prefix (nothing on an open platform)."""
    store = SharingStore(context.kafka, context.prefix)
    store.register_departments(sorted({i.department for i in load_catalogue().items()}))
    for party in parties.DECLARED:
        store.register_subscriber(party.subscriber)
    if not context.secured or context.platform.credentials_file is None:
        return
    keys = [*(identities.principal_key("department", d) for d in departments()),
            *(identities.principal_key("subscriber", p.subscriber) for p in parties.DECLARED),
            *(identities.principal_key("connector", p.subscription) for p in parties.DECLARED)]
    found = credentials.with_principals(Path(context.platform.credentials_file),
                                        {key: identities.user_name(key) for key in keys})
    catalogue = load_catalogue()
    acls = [*(acl for d in sorted({i.department for i in catalogue.items()})
              for acl in principals.department_acls(d, context.prefix)),
            *processor_access.processor_acls("normaliser", context.prefix, app_id=context.normaliser_app_id),
            *processor_access.processor_acls("profiles", context.prefix, app_id=context.profiles_app_id),
            *access.public_feed_acls(catalogue, context.prefix), *processor_access.operator_acls(context.prefix)]
    principals.provision(context.kafka, {found[k]["username"]: found[k]["password"] for k in keys}, acls)
    reconcile(context)  # the registered subscribers may now write their subscriptions topics


def declare(context: ScenarioContext, receiver_url: str) -> None:
    """The departments approve their grants (each as its own principal), the subscribers declare their
    subscriptions (each as its own), and one reconciliation turns them into the connectors' ACLs."""
    for grant in parties.grants():
        context.store_as(identities.principal_key("department", grant.approved_by)).put_grant(grant)
    for subscription in parties.subscriptions(receiver_url):
        context.store_as(identities.principal_key("subscriber", subscription.subscriber)).put_subscription(
            subscription)
    reconcile(context)


def revoke(context: ScenarioContext) -> Grant:
    """Public security revokes the hotel's grant; the reconciler process takes the connector's ACL away."""
    grant = parties.identity_grant(dt.datetime.now(dt.UTC) + dt.timedelta(days=30), revoked=True)
    context.store_as(identities.principal_key("department", grant.approved_by)).put_grant(grant)
    return grant


def reconcile(context: ScenarioContext) -> None:
    if context.secured:
        apply(context.kafka, plan(context.kafka, context.prefix))


def prepare_databases(cluster: PrivateCluster, run: str) -> tuple[str, str]:
    """(outbox DSN, mirror DSN): natural resources' registration database, with the outbox table, and the
    archive's database the mirror writes."""
    outbox = cluster.create_database(f"scn_{run}_registry")
    migrate_dsn(outbox)
    return outbox, cluster.create_database(f"scn_{run}_archive")


def dialect_topics(prefix: str) -> list[str]:
    return sorted({d.topic(prefix) for s in streams() for d in dialects_for(s.item)[1:]})
