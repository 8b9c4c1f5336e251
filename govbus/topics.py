"""Create topics explicitly (the local broker has auto-creation off) and idempotently, replicated by cluster size.

Every topic govbus creates (the catalogue's, the processors' changelogs and repartition topics, the control,
audit and parked topics, the registry's log) gets its replication from :func:`replication_for`, read from the
broker count of the cluster's metadata: on three brokers or more a replication factor of 3 and
``min.insync.replicas=2`` (a write acknowledged by ``acks=all`` is on two brokers at least, and one broker may
be lost without losing it or refusing writes); on one broker, 1 and the broker's default. A topic that already
exists is left as it is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from govbus import clients
from govbus.connection import KafkaConnection
from govbus.exceptions import PlatformError

log = logging.getLogger(__name__)

REPLICATED_FACTOR = 3
"""the replication factor of a topic created on a cluster of at least this many brokers"""
REPLICATED_MIN_INSYNC = 2
"""its ``min.insync.replicas``: an ``acks=all`` write waits for this many replicas"""


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 3
    config: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Replication:
    """How a new topic is replicated: its replication factor and the topic configuration that goes with it."""

    factor: int
    config: dict[str, str] = field(default_factory=dict)


def replication_for(brokers: int) -> Replication:
    """The replication of a topic created on a cluster whose metadata lists ``brokers`` brokers: 3 with
    ``min.insync.replicas=2`` on three or more; on fewer, one replica a broker (no ``min.insync.replicas``
    override, so the broker's default of 1). Two brokers is a three-broker cluster with one down (or a cluster
    govbus does not run): its topics get 2 replicas rather than 1, and a warning."""
    if brokers >= REPLICATED_FACTOR:
        return Replication(REPLICATED_FACTOR, {"min.insync.replicas": str(REPLICATED_MIN_INSYNC)})
    if brokers > 1:
        log.warning("fewer than three brokers answer: new topics get fewer replicas",
                    extra={"brokers": brokers, "replication_factor": brokers})
    return Replication(max(brokers, 1))


def cluster_replication(admin: AdminClient, timeout: float = 30.0) -> Replication:
    """:func:`replication_for` the brokers ``admin``'s cluster lists now."""
    return replication_for(len(admin.list_topics(timeout=timeout).brokers))


def ensure_topics(kafka: KafkaConnection, specs: Iterable[TopicSpec], timeout: float = 30.0) -> None:
    """Create each topic unless it exists, replicated as :func:`replication_for` the cluster's brokers says (a
    spec's own ``config`` wins over it); raise :class:`PlatformError` on any other failure.

    Only the topics missing from the broker's metadata are asked for: on a secured broker a principal may
    describe topics it may not create (a processor's inputs), and the broker refuses a CreateTopics of
    those with an authorisation error even when they exist.
    """
    wanted = list(specs)
    if not wanted:
        return
    admin = clients.admin(kafka)
    metadata = admin.list_topics(timeout=timeout)
    missing = [s for s in wanted if s.name not in metadata.topics]
    replication = replication_for(len(metadata.brokers)) if missing else Replication(1)
    new = [NewTopic(s.name, num_partitions=s.partitions, replication_factor=replication.factor,
                    config={**replication.config, **s.config}) for s in missing]
    futures = admin.create_topics(new, operation_timeout=timeout, request_timeout=timeout) if new else {}
    for name, future in futures.items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise PlatformError(f"could not create topic {name!r}: {exc.args[0].str()}") from exc
    _wait_for_leaders(admin, [s.name for s in wanted], timeout)


def _wait_for_leaders(admin: AdminClient, names: list[str], timeout: float) -> None:
    """Return once every partition of ``names`` has a leader (a new topic needs a moment)."""
    deadline = time.monotonic() + timeout
    waiting = set(names)
    while waiting:
        topics = admin.list_topics(timeout=timeout).topics
        waiting = {n for n in waiting if n not in topics or topics[n].error is not None
                   or any(p.leader < 0 for p in topics[n].partitions.values())}
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise PlatformError(f"topics {sorted(waiting)} have no partition leader after {timeout:.0f} s")
        time.sleep(0.1)
