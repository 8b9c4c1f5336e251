"""Offsets are committed in batch order, each batch only once its records (audit, parked) are acknowledged.

A sink handles batch after batch without waiting for Kafka: each handled batch becomes a
:class:`PendingCommit` holding its offsets and counting its audit records still unacknowledged.
:meth:`OrderedCommits.commit_ready` commits (asynchronously) the offsets of the leading batches
whose records are all acknowledged, never past a batch still waiting, so the audit is always
written before the offset is committed; a record Kafka gave up on stops the connector
(:class:`~govbus.exceptions.DeliveryError`) with that batch and every later one uncommitted.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from govbus.exceptions import DeliveryError

log = logging.getLogger(__name__)

Where = tuple[str, int]


@dataclass
class PendingCommit:
    """One batch's next offsets per partition and its unacknowledged audit records."""

    offsets: dict[Where, int]
    waiting: int = 0
    failure: str | None = None

    def expect(self) -> Callable[[KafkaError | None], None]:
        """A delivery callback for one more audit record of this batch."""
        self.waiting += 1
        return self._acknowledged

    def _acknowledged(self, error: KafkaError | None) -> None:
        self.waiting -= 1
        if error is not None and self.failure is None:
            self.failure = error.str()


class Acknowledgements(Protocol):
    """Serves the delivery reports the batches wait for (a confluent_kafka Producer)."""

    def poll(self, timeout: float) -> int: ...
    def flush(self, timeout: float) -> int: ...


@dataclass
class OrderedCommits:
    consumer: Consumer
    producer: Acknowledgements
    committed: dict[Where, int] = field(default_factory=dict)
    _pending: deque[PendingCommit] = field(default_factory=deque)

    def add(self, pending: PendingCommit) -> None:
        self._pending.append(pending)

    def commit_ready(self, *, wait: float = 0.0) -> None:
        """Commit what is acknowledged; with ``wait``, first wait up to that long for every acknowledgement
        and commit synchronously (shutdown, partitions revoked)."""
        if wait:
            self.producer.flush(wait)
        else:
            self.producer.poll(0)
        ready: dict[Where, int] = {}
        while self._pending and self._pending[0].waiting == 0:
            pending = self._pending.popleft()
            if pending.failure is not None:
                self._pending.clear()
                self._commit(ready, asynchronous=not wait)
                raise DeliveryError(f"audit records were not stored: {pending.failure}; this batch and the later "
                                    "ones stay uncommitted and are delivered again after a restart")
            for where, offset in pending.offsets.items():
                ready[where] = max(ready.get(where, 0), offset)
        self._commit(ready, asynchronous=not wait)

    def _commit(self, offsets: dict[Where, int], asynchronous: bool) -> None:
        if not offsets:
            return
        partitions = [TopicPartition(topic, partition, offset) for (topic, partition), offset in offsets.items()]
        try:
            if asynchronous:
                self.consumer.commit(offsets=partitions, asynchronous=True)
            else:
                self.consumer.commit(offsets=partitions, asynchronous=False)
        except KafkaException as error:  # e.g. partitions moved in a rebalance: their new owner re-delivers
            log.warning("commit failed; those events will be delivered again", extra={"error": str(error)})
            return
        self.committed.update(offsets)

    @property
    def waiting(self) -> int:
        """Batches settled but not committed yet."""
        return len(self._pending)
