"""Create topics explicitly (the local broker has auto-creation off) and idempotently."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from govbus import clients
from govbus.connection import KafkaConnection
from govbus.exceptions import PlatformError


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 3
    config: dict[str, str] = field(default_factory=dict)


def ensure_topics(kafka: KafkaConnection, specs: Iterable[TopicSpec], timeout: float = 30.0) -> None:
    """Create each topic unless it exists; raise :class:`PlatformError` on any other failure.

    Only the topics missing from the broker's metadata are asked for: on a secured broker a principal may
    describe topics it may not create (a processor's inputs), and the broker refuses a CreateTopics of
    those with an authorisation error even when they exist.
    """
    wanted = list(specs)
    if not wanted:
        return
    admin = clients.admin(kafka)
    existing = admin.list_topics(timeout=timeout).topics
    new = [NewTopic(s.name, num_partitions=s.partitions, replication_factor=1, config=s.config) for s in wanted
           if s.name not in existing]
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
