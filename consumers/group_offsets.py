"""Moving a consumer group's committed offsets to a point in time (how a subscription is replayed).

:func:`plan_rewind` looks up, for each partition of the topics, the first offset whose message
timestamp is at or after the time (``offsets_for_times``; the end of the partition when none is);
:func:`rewind` checks that the group has no members and commits those offsets for it. A running
consumer would overwrite them with its next commit, so a group with members is refused with the
members' client ids and hosts: stop that process first.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from confluent_kafka import Consumer, ConsumerGroupState, ConsumerGroupTopicPartitions, KafkaException, TopicPartition

from govbus import clients
from govbus.connection import KafkaConnection
from govbus.exceptions import ConfigurationError, PlatformError


class GroupInUseError(ConfigurationError):
    """The consumer group has members: its connector is running."""


@dataclass(frozen=True)
class Rewind:
    """One partition's move: from the committed offset (``None``: never committed) to ``target``."""

    topic: str
    partition: int
    committed: int | None
    target: int

    @property
    def events_again(self) -> int | None:
        """How many events will be handled again (``None`` when nothing was committed before)."""
        return None if self.committed is None else max(0, self.committed - self.target)


def group_members(kafka: KafkaConnection, group: str, timeout: float = 15.0) -> list[str]:
    """``client_id@host`` of each member of ``group`` now (empty when nobody consumes)."""
    admin = clients.admin(kafka)
    try:
        description = admin.describe_consumer_groups([group], request_timeout=timeout)[group].result(timeout)
    except KafkaException as error:
        raise PlatformError(f"could not describe consumer group {group!r}: {error.args[0].str()}") from error
    if description.state in (ConsumerGroupState.DEAD, ConsumerGroupState.EMPTY):
        return []
    return [f"{m.client_id}@{m.host.lstrip('/')}" for m in description.members]


def plan_rewind(kafka: KafkaConnection, group: str, topics: Sequence[str], when: dt.datetime,
                timeout: float = 15.0) -> list[Rewind]:
    """Each partition's committed offset and the offset of its first event at or after ``when``."""
    consumer = clients.consumer(kafka, group, {"enable.auto.commit": False})
    try:
        partitions = _partitions(consumer, topics, timeout)
        committed = {(tp.topic, tp.partition): tp.offset for tp in consumer.committed(partitions, timeout=timeout)}
        millis = int(when.timestamp() * 1000)
        found = consumer.offsets_for_times([TopicPartition(tp.topic, tp.partition, millis) for tp in partitions],
                                           timeout=timeout)
        rewinds = []
        for tp in found:
            target = tp.offset if tp.offset >= 0 else consumer.get_watermark_offsets(tp, timeout=timeout)[1]
            before = committed.get((tp.topic, tp.partition), -1)
            rewinds.append(Rewind(tp.topic, tp.partition, before if before >= 0 else None, int(target)))
        return rewinds
    except KafkaException as error:
        raise PlatformError(f"looking up offsets for {group!r} failed: {error.args[0].str()}") from error
    finally:
        consumer.close()


def _partitions(consumer: Consumer, topics: Sequence[str], timeout: float) -> list[TopicPartition]:
    partitions: list[TopicPartition] = []
    for topic in topics:
        metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if metadata is None or metadata.error is not None:
            raise ConfigurationError(f"topic {topic!r} does not exist; is GOVBUS_TOPIC_PREFIX right?")
        partitions.extend(TopicPartition(topic, p) for p in sorted(metadata.partitions))
    return partitions


def rewind(kafka: KafkaConnection, group: str, rewinds: Sequence[Rewind], timeout: float = 15.0) -> None:
    """Commit ``rewinds`` for ``group``; :class:`GroupInUseError` if the group has members."""
    members = group_members(kafka, group, timeout)
    if members:
        raise GroupInUseError(_in_use(group, members))
    admin = clients.admin(kafka, {"client.id": f"govbus-rewind-{uuid.uuid4().hex[:6]}"})
    offsets = [TopicPartition(r.topic, r.partition, r.target) for r in rewinds]
    request = ConsumerGroupTopicPartitions(group, offsets)
    try:
        result = admin.alter_consumer_group_offsets([request], request_timeout=timeout)[group].result(timeout)
    except KafkaException as error:
        raise _translated(group, error) from error
    failed = [f"{tp.topic}[{tp.partition}]: {tp.error.str()}" for tp in result.topic_partitions if tp.error]
    if failed:
        raise PlatformError(f"offsets of {group!r} not moved: {'; '.join(failed)}")


def _in_use(group: str, members: list[str]) -> str:
    return (f"consumer group {group!r} has {len(members)} member(s) ({', '.join(members)}): its connector is "
            "running. Stop it first (it would overwrite the offsets with its next commit), then run the replay "
            "again and start the connector")


def _translated(group: str, error: KafkaException) -> Exception:
    kafka_error = error.args[0]
    if "GROUP_NOT_EMPTY" in kafka_error.name() or "UNKNOWN_MEMBER" in kafka_error.name():
        return GroupInUseError(_in_use(group, ["a member that joined just now"]))
    return PlatformError(f"moving the offsets of {group!r} failed: {kafka_error.str()}")
