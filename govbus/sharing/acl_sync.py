"""The ACL reconciler: make the broker hold exactly the ACLs the catalogue, subscriptions and grants imply.

Each pass loads the sharing store (as it stands, forgeries left out), computes the wanted bindings
(:func:`govbus.sharing.access.sharing_acls`) for the current time, lists the bindings the broker holds,
and adds what is missing and deletes what no grant implies any more. It manages only its own: bindings
of department, subscriber and connector principals on resources of its topic prefix (so reconcilers of
other prefixes on the same broker, and the processors' and operators' static ACLs, are left alone).
Cluster-level bindings (idempotent writes) are added but never deleted: alone they reach no data.

``govbus acl sync --dry-run`` prints the difference without changing anything; ``govbus run acl`` runs a
pass every few seconds, so adding, revoking or the expiry of a grant reaches the broker within seconds.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
)
from prometheus_client import CollectorRegistry, Counter, Gauge
from pydantic import Field

from govbus import clients, identities
from govbus.connection import KafkaConnection
from govbus.exceptions import PlatformError
from govbus.service import serve_until_stopped
from govbus.settings import DEFAULT_METRICS_HOST, GovbusSettings, MetricsHost
from govbus.sharing.access import sharing_acls
from govbus.sharing.store import SharingStore
from govbus.topic_names import TopicPrefix
from schemas.catalogue import load_catalogue

log = logging.getLogger(__name__)

MANAGED_KINDS = ("department", "subscriber", "connector")
NAMESPACES = ("dept.", "local.", "canonical.", "dead-letter.", "profile.", "control.", "audit.", "delivery.",
              "subscription.", "subscriber.")
ANY_ACL = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY,
                           AclPermissionType.ANY)


class AclSyncSettings(GovbusSettings):
    """The ACL reconciler (``govbus run acl``; ``govbus acl sync``): the broker only, as its administrator."""

    kafka: KafkaConnection = Field(default_factory=KafkaConnection,
                                   description="the broker, as its administrator: GOVBUS_KAFKA__*")
    metrics_host: MetricsHost = DEFAULT_METRICS_HOST
    topic_prefix: TopicPrefix = "govbus"
    acl_interval: float = Field(2.0, gt=0, le=300, description="seconds between two reconciliations")
    acl_metrics_port: int = Field(0, ge=0, le=65535, description="port serving /metrics; 0 = none")


@dataclass
class AclDiff:
    """What a pass adds to and deletes from the broker's ACLs."""

    add: list[AclBinding] = field(default_factory=list)
    delete: list[AclBinding] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # control records that were not counted (forgeries ...)

    @property
    def empty(self) -> bool:
        return not self.add and not self.delete


def managed(binding: AclBinding, prefix: str) -> bool:
    """Whether the reconciler of ``prefix`` owns ``binding``."""
    user = binding.principal.removeprefix("User:")
    kind = identities.key_of_user(user).partition(":")[0]
    if kind not in MANAGED_KINDS or binding.permission_type != AclPermissionType.ALLOW:
        return False
    if binding.restype == ResourceType.BROKER:
        return False
    return any(binding.name.startswith(f"{prefix}.{namespace}") for namespace in NAMESPACES)


def broker_acls(kafka: KafkaConnection, timeout: float = 30.0) -> set[AclBinding]:
    """Every binding the broker holds (needs the administrator, or DESCRIBE on the cluster)."""
    admin = clients.admin(kafka)  # kept alive until the future resolves
    try:
        found = admin.describe_acls(ANY_ACL, request_timeout=timeout).result(timeout=timeout)
    except Exception as error:  # KafkaException or a timeout: one line naming the step
        raise PlatformError(f"cannot list the broker's ACLs (run as the platform's administrator): {error}") \
            from error
    return set(found)


def difference(wanted: Iterable[AclBinding], held: Iterable[AclBinding], prefix: str) -> AclDiff:
    """What to add (wanted, not held) and delete (held and managed here, not wanted)."""
    wanted_set, held_set = set(wanted), set(held)
    return AclDiff(add=sorted(wanted_set - held_set, key=describe),
                   delete=sorted((b for b in held_set - wanted_set if managed(b, prefix)), key=describe))


def describe(binding: AclBinding) -> str:
    """One line: ``User:x ALLOW READ TOPIC(LITERAL) name``."""
    return (f"{binding.principal} {binding.permission_type.name} {binding.operation.name} "
            f"{binding.restype.name}({binding.resource_pattern_type.name}) {binding.name}")


def plan(kafka: KafkaConnection, prefix: str, now: dt.datetime | None = None,
         store: SharingStore | None = None) -> AclDiff:
    """This moment's difference between what the grants imply and what the broker holds (``store``: the sharing
    store to read, kept across passes so a refused record is logged once)."""
    snapshot = (store or SharingStore(kafka, prefix)).load()
    wanted = sharing_acls(load_catalogue(), snapshot.subscriptions.values(), snapshot.grants.values(),
                          now or dt.datetime.now(dt.UTC), prefix, snapshot.subscribers)
    diff = difference(wanted, broker_acls(kafka), prefix)
    diff.refused = snapshot.refused
    return diff


def apply(kafka: KafkaConnection, diff: AclDiff, timeout: float = 30.0) -> None:
    """Delete, then add, the bindings of ``diff``; :class:`PlatformError` naming what the broker refused."""
    admin = clients.admin(kafka)
    try:
        if diff.delete:
            filters = [AclBindingFilter(b.restype, b.name, b.resource_pattern_type, b.principal, b.host,
                                        b.operation, b.permission_type) for b in diff.delete]
            for future in admin.delete_acls(filters, request_timeout=timeout).values():
                future.result(timeout=timeout)
        if diff.add:
            for future in admin.create_acls(diff.add, request_timeout=timeout).values():
                future.result(timeout=timeout)
    except Exception as error:  # KafkaException or a timeout
        raise PlatformError(f"the broker refused an ACL change ({error}): run as the platform's administrator "
                            "(GOVBUS_KAFKA__USERNAME=admin and its password)") from error


class AclReconciler:
    """``govbus run acl``: a reconciliation every ``acl_interval`` seconds until :meth:`stop`."""

    def __init__(self, settings: AclSyncSettings, registry: CollectorRegistry | None = None) -> None:
        self._settings = settings
        self._store = SharingStore(settings.kafka, settings.topic_prefix)
        self._stop = threading.Event()
        self.registry = registry or CollectorRegistry()
        self._changes = Counter("govbus_acl_changes_total", "ACL bindings added or deleted by the reconciler",
                                ["change"], registry=self.registry)
        self._failures = Counter("govbus_acl_sync_failures_total", "reconciliations that failed",
                                 registry=self.registry)
        self._last = Gauge("govbus_acl_last_sync_timestamp_seconds", "when the last reconciliation succeeded",
                           registry=self.registry)
        self.passes = 0

    def reconcile_once(self) -> AclDiff:
        diff = plan(self._settings.kafka, self._settings.topic_prefix, store=self._store)
        apply(self._settings.kafka, diff)
        self._changes.labels("added").inc(len(diff.add))
        self._changes.labels("deleted").inc(len(diff.delete))
        self._last.set_to_current_time()
        if not diff.empty:
            log.info("acls reconciled", extra={"added": len(diff.add), "deleted": len(diff.delete)})
        self.passes += 1
        return diff

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.reconcile_once()
            except Exception as error:  # a broker away or a bad record: keep reconciling
                self._failures.inc()
                log.warning("acl reconciliation failed; retrying",
                            extra={"error": f"{type(error).__name__}: {error}"})
            self._stop.wait(self._settings.acl_interval)

    def stop(self) -> None:
        self._stop.set()


def run_reconciler(settings: AclSyncSettings) -> None:
    """Run the reconciler in the foreground, serving ``/metrics`` when a port is set, until SIGTERM."""
    reconciler = AclReconciler(settings)
    serve_until_stopped(reconciler, settings.acl_metrics_port, reconciler.registry, metrics_host=settings.metrics_host)
