"""Reading the delivery audit back (`govbus audit who-received`, `govbus audit deliveries`).

A bounded read on the sink runtime in replay mode (:mod:`consumers.sink`): every partition of the audit
topic from its first record at or after ``since`` (or its first) up to the end it had when the read began;
no consumer group is joined and nothing is committed.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid

from confluent_kafka import Message
from prometheus_client import CollectorRegistry

from consumers.sink import BadMessages, Batch, SinkMetrics, SinkOptions, SinkRuntime
from govbus import clients
from govbus.audit import AuditRecord, parse_record
from govbus.connection import KafkaConnection
from govbus.exceptions import PlatformError
from govbus.topic_names import audit_topic


class _Collected:
    """A sink keeping every record it is handed."""

    def __init__(self, topic: str) -> None:
        self._topic = topic
        self.messages: list[Message] = []

    def topics(self) -> list[str]:
        return [self._topic]

    def handle(self, batch: Batch) -> None:
        self.messages.extend(batch.messages)


def read_audit(kafka: KafkaConnection, prefix: str, since: dt.datetime | None = None,
               timeout: float = 30.0) -> list[AuditRecord]:
    """Every audit record written at or after ``since`` (all when ``None``), oldest first."""
    topic = audit_topic(prefix)
    collected = _Collected(topic)
    consumer = clients.consumer(kafka, f"govbus-audit-reader-{uuid.uuid4().hex}",
                                {"enable.auto.commit": False, "enable.partition.eof": False})
    options = SinkOptions("audit-reader", batch_size=1000, batch_wait=0.05, bad_messages=BadMessages.SKIP,
                          lag_interval=0, replay=True,
                          replay_since_ms=int(since.timestamp() * 1000) if since is not None else None)
    runtime = SinkRuntime(consumer, collected, options, SinkMetrics(CollectorRegistry()))
    try:
        metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if metadata is None or metadata.error is not None:
            raise PlatformError(f"audit topic {topic!r} does not exist on {kafka.bootstrap}: no subscriber connector "
                                "has delivered anything under this prefix (GOVBUS_TOPIC_PREFIX) yet")
        deadline = time.monotonic() + timeout
        while not runtime.caught_up.is_set():
            if time.monotonic() > deadline:
                raise PlatformError(f"reading {topic} did not reach its end within {timeout:.0f} s")
            runtime.step()
    finally:
        runtime.close()
    records = [parse_record(m) for m in collected.messages]
    return sorted((r for r in records if r is not None and (since is None or r.at >= since)), key=lambda r: r.at)
