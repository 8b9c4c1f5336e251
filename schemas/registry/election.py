"""Electing the one primary through a Kafka consumer group.

Every instance joins the same consumer group and subscribes to a 1-partition election topic
(nothing is ever written to it). Kafka's group coordinator assigns that partition to exactly
one member; that member is *elected*. The cooperative-sticky assignor keeps the partition
where it is when members join, so a new instance never takes over from a healthy primary.
When the elected member stops cleanly it leaves the group and another member is assigned the
partition within a rebalance; when it dies, within the session timeout (6 s by default).
A background thread polls the consumer (which heartbeats) and reports each change to the
event loop.

Election alone does not make an instance primary: it must then announce itself in the
registry log (see :mod:`schemas.registry.role`), which fences off any earlier primary.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from govbus import clients
from govbus.connection import KafkaConnection

log = logging.getLogger(__name__)


class Election:
    """Group membership for the election topic; ``on_change(elected)`` runs on the event loop."""

    def __init__(
        self, kafka: KafkaConnection, group: str, topic: str, session_timeout_ms: int, on_change: Callable[[bool], None]
    ) -> None:
        self._kafka = kafka
        self._group = group
        self._topic = topic
        self._session_timeout_ms = session_timeout_ms
        self._on_change = on_change
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._owned: set[tuple[str, int]] = set()

    def start(self) -> None:
        """Join the group in a background thread; must be called from the event loop."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="registry-election", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        """Leave the group (so another instance takes over at once) and stop the thread."""
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 15)

    def _config(self) -> dict[str, Any]:
        return {
            "client.id": f"govbus-registry-{uuid.uuid4().hex[:8]}",
            "session.timeout.ms": self._session_timeout_ms,
            "heartbeat.interval.ms": max(500, self._session_timeout_ms // 4),
            "max.poll.interval.ms": max(30000, self._session_timeout_ms * 2),
            "partition.assignment.strategy": "cooperative-sticky",
            "enable.auto.commit": False,
            "auto.offset.reset": "latest",
        }

    def _run(self) -> None:
        consumer = clients.consumer(self._kafka, self._group, self._config())
        consumer.subscribe(
            [self._topic], on_assign=self._assigned, on_revoke=self._revoked, on_lost=self._revoked
        )
        try:
            while not self._stop.is_set():
                consumer.poll(0.2)
        except Exception:
            log.exception("the election thread stopped", extra={"group": self._group})
        finally:
            self._owned.clear()
            self._report(False)
            consumer.close()

    def _assigned(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Partitions added to this member (incrementally, with the cooperative assignor)."""
        self._owned |= {(p.topic, p.partition) for p in partitions}
        self._report((self._topic, 0) in self._owned)

    def _revoked(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Partitions taken away (revoked or lost)."""
        self._owned -= {(p.topic, p.partition) for p in partitions}
        self._report((self._topic, 0) in self._owned)

    def _report(self, elected: bool) -> None:
        log.info("election result", extra={"group": self._group, "elected": elected})
        if self._loop is None:
            return
        try:
            self._loop.call_soon_threadsafe(self._on_change, elected)
        except RuntimeError:  # loop closed while shutting down
            pass
