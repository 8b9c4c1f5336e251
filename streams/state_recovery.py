"""What the engine adds to Quix Streams' state recovery: a worker identity that fences its predecessor,
recovery that waits out another producer's open transaction, and a retried early seek.

A state store is recovered from its changelog topic by a read_committed consumer, up to the
partition's end as that consumer sees it: the *last stable offset*, which stops at the first
record of any transaction still open on the partition. A worker killed with a transaction open
leaves it open until the broker aborts it (``GOVBUS_STREAMS_TRANSACTION_TIMEOUT_MS``, then up to
the broker's abort check interval, 10 s by default). Two things follow, both seen here:

1. **A restarted worker fences its predecessor** (:func:`worker_transactional_id`): its
   ``transactional.id`` is the same across restarts (consumer group, host, state directory), so
   its producer's ``init_transactions`` aborts the killed process's open transaction at once:
   readers of its outputs do not wait for the timeout, and the changelogs are settled before
   the restarted worker recovers from them. With a random id per process (Quix's default) a
   worker killed twice within the timeout found its own state directory *ahead* of the
   changelog's last stable offset and stopped with Quix's ``InvalidStoreChangelogOffset``.
2. **Recovery waits until no other transaction is open on the changelog partition**
   (:func:`wait_for_settled_changelogs`). When the partitions of a killed worker move to another
   worker, the killed one's transaction stays open for a while; if the new owner committed
   after it and was killed in turn, a third owner recovering then would read only up to the
   open transaction and miss the new owner's committed state (while the input offsets committed
   with that state are past its inputs): a state loss. So the end a recovery aims for is taken
   only once the last stable offset has reached the partition's end as written, waiting at most
   the transaction timeout plus the broker's abort check interval.

Identity rule: one state directory per worker (as :class:`~streams.engine.EngineSettings` says).
Two live workers of one group on one host with one state directory would share a
``transactional.id`` and fence each other in turn, so a worker holds a lock file in its state
directory (:func:`lock_state_dir`) and the second one stops at start, saying why.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import IsolationLevel, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from govbus import clients
from govbus.connection import KafkaConnection
from govbus.exceptions import ConfigurationError

log = logging.getLogger(__name__)

CHANGELOG_PREFIX = "changelog__"
BROKER_ABORT_CHECK_SECONDS = 10.0
"""The broker's ``transaction.abort.timed.out.transaction.cleanup.interval.ms`` (its default, as here)."""
_SETTLE_POLL_SECONDS = 0.2


_HELD_LOCKS: list[Any] = []  # open lock files: held until the process exits


def lock_state_dir(group: str, state_dir: Path) -> None:
    """Hold ``<state_dir>/<group>.lock`` for this process, or raise :class:`ConfigurationError` if another process
    holds it: two workers of one group with one state directory would share a transactional id and fence
    each other in turn, so the second one stops at start with this message instead."""
    state_dir.mkdir(parents=True, exist_ok=True)
    handle = open(state_dir / f"{group}.lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise ConfigurationError(f"another worker of {group!r} uses the state directory {state_dir}; give each worker "
                                 "its own GOVBUS_STREAMS_STATE_DIR") from None
    _HELD_LOCKS.append(handle)


def worker_transactional_id(group: str, state_dir: Path, host: str | None = None) -> str:
    """The ``transactional.id`` of the worker of ``group`` on ``host`` with state in ``state_dir``: the same on
    every restart of that worker, different for any other worker."""
    digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:12]
    return f"{group}-{host or socket.gethostname()}-{digest}"


EndOffset = Callable[[TopicPartition], int]
"""The end of a partition as written (read_uncommitted: open transactions included)."""


def uncommitted_end(kafka: KafkaConnection) -> EndOffset:
    """:data:`EndOffset` asked of the broker with an admin client (made on first use)."""
    admin: list[AdminClient] = []

    def end(partition: TopicPartition) -> int:
        if not admin:
            admin.append(clients.admin(kafka))
        request = {TopicPartition(partition.topic, partition.partition): OffsetSpec.latest()}
        futures = admin[0].list_offsets(request, isolation_level=IsolationLevel.READ_UNCOMMITTED, request_timeout=10)
        return int(next(iter(futures.values())).result(timeout=15).offset)

    return end


def wait_for_settled_changelogs(consumer: Any, end_as_written: EndOffset, limit_seconds: float,
                                clock: Callable[[], float] = time.monotonic,
                                sleep: Callable[[float], None] = time.sleep) -> None:
    """Make the watermark query of a changelog partition (what Quix's recovery aims for) answer only once
    no transaction is open on it: its read_committed end has reached its end as written.

    Quix asks partition by partition inside the assignment callback, so the wait is bounded once for
    them all: after a wait that reached ``limit_seconds`` (a warning is logged), the partitions asked
    within the next ``limit_seconds`` are answered as they stand. Other topics, cached queries, and a
    broker that cannot say where a partition ends (logged) are answered at once.
    """
    query = consumer.get_watermark_offsets
    gave_up_at = [-float("inf")]

    def settled(partition: TopicPartition, timeout: float | None = None, cached: bool = False) -> Any:
        low, high = query(partition, timeout=timeout, cached=cached)
        if cached or not partition.topic.startswith(CHANGELOG_PREFIX) or clock() - gave_up_at[0] < limit_seconds:
            return low, high
        where = {"topic": partition.topic, "partition": partition.partition}
        try:
            written = end_as_written(partition)
        except Exception as error:  # KafkaException, a time-out: recover as Quix would have
            log.warning("could not ask where a changelog partition ends; recovering without waiting",
                        extra={**where, "error": repr(error)})
            return low, high
        if high < written:
            log.info("waiting for an open transaction on a changelog partition to end before recovering",
                     extra={**where, "stable_end": high, "written_end": written})
        deadline = clock() + limit_seconds
        while high < written:
            if clock() > deadline:
                gave_up_at[0] = clock()
                log.warning("a transaction is still open on a changelog partition; recovering up to it",
                            extra={**where, "stable_end": high, "written_end": written})
                break
            sleep(_SETTLE_POLL_SECONDS)
            low, high = query(partition, timeout=timeout, cached=cached)
        return low, high

    consumer.get_watermark_offsets = settled


_SEEK_RETRY_SECONDS = 5.0


def retry_early_seeks(consumer: Any, clock: Callable[[], float] = time.monotonic,
                      sleep: Callable[[float], None] = time.sleep) -> None:
    """Make ``consumer.seek`` retry, for up to 5 s, a seek librdkafka refuses as "Erroneous state".

    Quix Streams 3.28.1 seeks a changelog partition to start state recovery right after the
    assignment; librdkafka refuses a seek (``_STATE``) on a partition whose fetcher has not started
    yet (it first asks the broker for the group's committed offsets). Seen in about 2 of 143
    restores here, and the worker died with nothing lost. The fetcher starts on librdkafka's own
    thread, so waiting a moment and seeking again succeeds; any other error is raised at once.
    """
    seek = consumer.seek

    def patient_seek(partition: TopicPartition) -> Any:
        deadline = clock() + _SEEK_RETRY_SECONDS
        while True:
            try:
                return seek(partition)
            except KafkaException as error:
                refused = isinstance(error.args[0], KafkaError) and error.args[0].code() == KafkaError._STATE
                if not refused or clock() > deadline:
                    raise
                log.info("seek refused before the partition's fetcher started; retrying",
                         extra={"topic": partition.topic, "partition": partition.partition})
                sleep(0.05)

    consumer.seek = patient_seek


