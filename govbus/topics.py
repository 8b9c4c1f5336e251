"""Create topics explicitly (the local broker has auto-creation off) and idempotently."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from govbus.exceptions import PlatformError


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 3
    config: dict[str, str] = field(default_factory=dict)


def ensure_topics(bootstrap: str, specs: Iterable[TopicSpec], timeout: float = 30.0) -> None:
    """Create each topic unless it exists; raise :class:`PlatformError` on any other failure."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    new = [NewTopic(s.name, num_partitions=s.partitions, replication_factor=1, config=s.config) for s in specs]
    if not new:
        return
    for name, future in admin.create_topics(new, operation_timeout=timeout, request_timeout=timeout).items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise PlatformError(f"could not create topic {name!r}: {exc.args[0].str()}") from exc
