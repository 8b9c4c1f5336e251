"""Reading the delivery audit back (`govbus audit verify`, and `who-received` / `deliveries` without an index).

A bounded read on the sink runtime in replay mode (:mod:`consumers.sink`): every partition of the audit
topic from its first record at or after ``since`` (or its first) up to the end it had when the read began;
no consumer group is joined and nothing is committed. Records are handed on as they arrive
(:func:`scan_audit`), so a long audit is never held in memory; the read gives up only when it makes no
progress for ``stall_timeout`` seconds, however long it takes in all. A record that does not parse is
reported (:class:`govbus.audit.Unparsable`: partition, offset, why), never dropped silently.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from confluent_kafka import Message
from prometheus_client import CollectorRegistry

from consumers.sink import BadMessages, Batch, SinkMetrics, SinkOptions, SinkRuntime
from govbus import clients
from govbus.audit import AuditRecord, Unparsable, parse_record
from govbus.connection import KafkaConnection
from govbus.exceptions import PlatformError
from govbus.topic_names import audit_topic

log = logging.getLogger(__name__)
STALL_TIMEOUT = 30.0


class _Handed:
    """A sink handing each record it is given to ``on_message``."""

    def __init__(self, topic: str, on_message: Callable[[Message], None]) -> None:
        self._topic = topic
        self._on_message = on_message
        self.handed = 0

    def topics(self) -> list[str]:
        return [self._topic]

    def handle(self, batch: Batch) -> None:
        for message in batch.messages:
            self._on_message(message)
        self.handed += len(batch.messages)


def scan_audit(kafka: KafkaConnection, prefix: str, on_message: Callable[[Message], None],
               since: dt.datetime | None = None, stall_timeout: float = STALL_TIMEOUT) -> int:
    """Hand every record of the audit topic written at or after ``since`` (all when ``None``) to ``on_message``,
    each partition in offset order, until the ends the partitions had when the read began; how many were handed.
    :class:`PlatformError` if the topic does not exist or no record comes for ``stall_timeout`` seconds."""
    topic = audit_topic(prefix)
    sink = _Handed(topic, on_message)
    consumer = clients.consumer(kafka, f"govbus-audit-reader-{uuid.uuid4().hex}",
                                {"enable.auto.commit": False, "enable.partition.eof": False})
    options = SinkOptions("audit-reader", batch_size=5000, batch_wait=0.05, bad_messages=BadMessages.SKIP,
                          lag_interval=0, replay=True,
                          replay_since_ms=int(since.timestamp() * 1000) if since is not None else None)
    runtime = SinkRuntime(consumer, sink, options, SinkMetrics(CollectorRegistry()))
    try:
        metadata = consumer.list_topics(topic, timeout=stall_timeout).topics.get(topic)
        if metadata is None or metadata.error is not None:
            raise PlatformError(f"audit topic {topic!r} does not exist on {kafka.bootstrap}: no subscriber connector "
                                "has delivered anything under this prefix (GOVBUS_TOPIC_PREFIX) yet")
        progress, handed = time.monotonic(), 0
        while not runtime.caught_up.is_set():
            runtime.step()
            if sink.handed != handed:
                progress, handed = time.monotonic(), sink.handed
            elif time.monotonic() - progress > stall_timeout:
                raise PlatformError(f"reading {topic} made no progress for {stall_timeout:.0f} s after "
                                    f"{handed} records: is the broker overloaded or unreachable?")
    finally:
        runtime.close()
    return sink.handed


LISTED = 1000
"""records that do not parse listed at most (all are counted)"""


@dataclass
class AuditRead:
    """The audit records read, oldest first, and where the records that do not parse are (the first
    ``LISTED`` of them; ``unparsable_count`` counts them all)."""

    records: list[AuditRecord] = field(default_factory=list)
    unparsable: list[Unparsable] = field(default_factory=list)
    unparsable_count: int = 0


def read_audit_matching(kafka: KafkaConnection, prefix: str, keep: Callable[[AuditRecord], bool],
                        since: dt.datetime | None = None, stall_timeout: float = STALL_TIMEOUT) -> AuditRead:
    """The records ``keep`` accepts (only those are held), written at or after ``since``, and every
    record that does not parse."""
    read = AuditRead()

    def take(message: Message) -> None:
        parsed = parse_record(message)
        if isinstance(parsed, Unparsable):
            read.unparsable_count += 1
            if len(read.unparsable) < LISTED:
                read.unparsable.append(parsed)
        elif (since is None or parsed.at >= since) and keep(parsed):
            read.records.append(parsed)

    scan_audit(kafka, prefix, take, since, stall_timeout)
    read.records.sort(key=lambda r: r.at)
    return read


def read_audit(kafka: KafkaConnection, prefix: str, since: dt.datetime | None = None,
               timeout: float = STALL_TIMEOUT) -> list[AuditRecord]:
    """Every audit record written at or after ``since`` (all when ``None``), oldest first; records that do not
    parse are logged as a warning with their offsets (:func:`read_audit_matching` hands them to the caller)."""
    read = read_audit_matching(kafka, prefix, lambda _record: True, since, timeout)
    if read.unparsable_count:
        log.warning("audit records that do not parse; `govbus audit verify` lists them all", extra={
            "topic": audit_topic(prefix), "count": read.unparsable_count,
            "first": [f"{u.partition}@{u.offset}: {u.reason}" for u in read.unparsable[:5]]})
    return read.records
