"""The scenario's sampler: one line of ``samples.jsonl`` (bench/scenario/FORMAT.md) every few seconds, in a
background thread, while a run goes.

Each sample (:meth:`Sampler.sample`) holds, at its time ``t``:

1. ``rss_bytes``: per named process, its resident memory (``VmRSS`` of ``/proc/<pid>/status``, the process
   itself, not its children). A process that is gone (or a zombie) is left out of that sample;
   :meth:`Sampler.track` gives a name its new pid when the run restarts a process.
2. ``end_offsets``: per stage, the end offsets of its topics' partitions, summed (the last stable offset, what
   a ``read_committed`` consumer can reach: the exporter's ``govbus_topic_end_offset``); a topic not created
   yet counts 0. Offsets count transaction markers too: on a topic written with transactions (canonical,
   dead-letter) each transaction adds one per partition it wrote.
3. ``lag_events``: per consumer, what its group has not consumed of its topics: the end offset minus the
   committed offset, summed over the partitions, the log start offset standing for a partition it has committed
   nothing on (:func:`govbus.operations.lag.waiting_events`; on a topic the ``transactional`` predicate names,
   a position just before the final transaction marker counts as caught up).
4. ``errors``: a line per read that failed (empty when none did).

The topics and their end offsets are read with the exporter's :class:`~govbus.operations.offsets.OffsetReader`
(one admin client: metadata and ListOffsets). A group's commits are read by a consumer in that group
(:func:`govbus.clients.consumer`, never subscribed, so it never joins the group nor commits), not by the admin
client's ListConsumerGroupOffsets: librdkafka (2.12) crashes the whole process with a segmentation fault when the
broker answers that request NOT_COORDINATOR (librdkafka issue #5040: the admin client has no group handle to
ask for the coordinator again), which a group's coordinator does while it loads, e.g. after a broker restart,
or for a group new to a fresh broker. A consumer's own OffsetFetch looks the coordinator up again.

Every read is bounded by ``timeout`` seconds. The sampler never stops a run: a read that fails (a fault run
kills the broker) leaves its part out of the sample, adds its error, and the sample is written with what could
be read; a broker that is down costs one metadata timeout per sample.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from govbus import clients
from govbus.connection import KafkaConnection
from govbus.exceptions import GovbusError
from govbus.operations.lag import PartitionEnds, Position, waiting_events
from govbus.operations.offsets import OffsetReader

log = logging.getLogger(__name__)

DEFAULT_EVERY = 5.0
"""seconds between two samples"""
DEFAULT_TIMEOUT = 2.0
"""seconds a broker request may take (the reader waits up to twice that for an answer)"""


def rss_bytes(pid: int) -> int | None:
    """The resident memory of process ``pid`` in bytes; None when it is gone or a zombie (no VmRSS)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024  # the kernel writes kB (KiB)
    return None


def _never(_topic: str) -> bool:
    return False


def _kafka_error(error: KafkaException) -> str:
    first = error.args[0] if error.args else None
    return str(first.str()) if isinstance(first, KafkaError) else str(error) or type(error).__name__


@dataclass(frozen=True)
class Offsets:
    """What one sample read of the broker: partitions per topic, their ends, each group's commits."""

    partitions: dict[str, list[int]]
    ends: dict[Position, PartitionEnds]
    committed: dict[str, dict[Position, int]]
    """group -> its commits (a group whose commits could not be read is left out)"""


class Sampler:
    """Writes a sample every ``every`` seconds from :meth:`start` to :meth:`close` (see the module docstring).

    ``stages``: stage name -> its topics; ``consumers``: consumer name -> (group id, its topics); ``pids``:
    process name -> pid; ``transactional``: which topics are written with transactions only (e.g.
    :meth:`govbus.operations.topic_kinds.TopicKinds.transactional`).
    """

    def __init__(self, kafka: KafkaConnection, out: Path, *, stages: Mapping[str, Iterable[str]],
                 consumers: Mapping[str, tuple[str, Iterable[str]]], pids: Mapping[str, int] | None = None,
                 every: float = DEFAULT_EVERY, timeout: float = DEFAULT_TIMEOUT,
                 transactional: Callable[[str], bool] = _never) -> None:
        self._kafka = kafka
        self._timeout = timeout
        self._reader = OffsetReader(kafka, timeout)
        self._readers: dict[str, Consumer] = {}
        """group -> the consumer that reads its commits (made at its first sample)"""
        self._out = out
        self._stages = {stage: sorted(set(topics)) for stage, topics in stages.items()}
        self._consumers = {name: (group, sorted(set(topics))) for name, (group, topics) in consumers.items()}
        self._pids = dict(pids or {})
        self._every = every
        self._transactional = transactional
        self._lock = threading.Lock()
        """held while a sample is taken and written"""
        self._pids_lock = threading.Lock()
        """held while the pids change or are copied (never during a broker read)"""
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._file: IO[str] | None = None
        self.samples = 0
        """samples written so far"""

    def track(self, name: str, pid: int) -> None:
        """Sample process ``pid`` as ``name`` from the next sample on (a new process, or a restarted one)."""
        with self._pids_lock:
            self._pids[name] = pid

    def forget(self, name: str) -> None:
        """Stop sampling the process named ``name``."""
        with self._pids_lock:
            self._pids.pop(name, None)

    def start(self) -> Sampler:
        """Take the first sample now, then one every ``every`` seconds in a background thread."""
        if self._thread is None:
            self._out.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self._out, "a", encoding="utf-8")  # closed by close()
            self._thread = threading.Thread(target=self._run, name="scenario-sampler", daemon=True)
            self._thread.start()
        return self

    def close(self, final_sample: bool = True) -> None:
        """Stop the thread; then (``final_sample``) write one last sample, so the file ends at this moment."""
        if self._thread is None:
            return
        self._stopping.set()
        self._thread.join()
        self._thread = None
        if final_sample:
            self.sample()
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
            for reader in self._readers.values():
                reader.close()
            self._readers.clear()

    def __enter__(self) -> Sampler:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def _run(self) -> None:
        due = time.monotonic()
        while not self._stopping.wait(max(0.0, due - time.monotonic())):
            self.sample()
            due = max(due + self._every, time.monotonic())  # a sample that overran: the next one at once

    def sample(self) -> dict[str, Any]:
        """Take one sample now and append it to the file (between :meth:`start` and :meth:`close`); never
        raises (a file that cannot be written is logged)."""
        with self._lock:
            found = self._take()
            if self._file is not None:
                try:
                    self._file.write(json.dumps(found, separators=(",", ":")) + "\n")
                    self._file.flush()
                    self.samples += 1
                except OSError as error:
                    log.error("a scenario sample could not be written", extra={"path": str(self._out),
                                                                                "error": str(error)})
        return found

    def _take(self) -> dict[str, Any]:
        found: dict[str, Any] = {"t": time.time(), "rss_bytes": {}, "end_offsets": {}, "lag_events": {},
                                 "errors": []}
        try:
            with self._pids_lock:
                pids = sorted(self._pids.items())
            found["rss_bytes"] = {name: rss for name, pid in pids
                                  if (rss := rss_bytes(pid)) is not None}
            offsets = self._read(found["errors"])
            if offsets is not None:
                found["end_offsets"] = self._end_offsets(offsets)
                found["lag_events"] = self._lags(offsets)
        except Exception as error:  # a bug here must not end the run: it shows in the samples and the log
            log.exception("a scenario sample failed")
            found["errors"].append(f"sample failed: {type(error).__name__}: {error}")
        return found

    def _read(self, errors: list[str]) -> Offsets | None:
        """The broker's offsets; None (and an error noted) when the topics or their ends cannot be read."""
        topics = {t for ts in self._stages.values() for t in ts} | {t for _, ts in self._consumers.values() for t in ts}
        if not topics:
            return None
        try:
            partitions = self._reader.topics(lambda topic: topic in topics)
            ends = self._reader.ends((topic, p) for topic, ps in partitions.items() for p in ps)
        except GovbusError as error:
            errors.append(str(error))
            return None
        ends = {position: replace(end, final_marker=self._transactional(position[0])) for position, end in ends.items()}
        committed = {}
        for group, group_topics in self._group_topics().items():
            positions = [(topic, p) for topic in group_topics for p in partitions.get(topic, [])]
            try:
                committed[group] = self._committed(group, positions)
            except KafkaException as error:
                errors.append(f"reading the commits of group {group!r} failed: {_kafka_error(error)}")
                self._drop_reader(group)  # a reader stuck on a coordinator that moved: a new one next time
        return Offsets(partitions, ends, committed)

    def _drop_reader(self, group: str) -> None:
        reader = self._readers.pop(group, None)
        if reader is not None:
            try:
                reader.close()
            except (KafkaException, RuntimeError):  # closing a broken reader: nothing more to do
                pass

    def _group_topics(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for group, topics in self._consumers.values():
            found.setdefault(group, set()).update(topics)
        return found

    def _committed(self, group: str, positions: list[Position]) -> dict[Position, int]:
        """``group``'s commits on ``positions`` (a partition it has committed nothing on is left out)."""
        if not positions:
            return {}
        reader = self._readers.get(group)
        if reader is None:
            reader = clients.commit_reader(self._kafka, group, "govbus-scenario-sampler")
            self._readers[group] = reader
        found = reader.committed([TopicPartition(topic, p) for topic, p in positions], timeout=self._timeout)
        failed = next((tp.error for tp in found if tp.error is not None), None)
        if failed is not None:  # a partition unread is not one never committed: the group counts as unread
            raise KafkaException(failed)
        return {(tp.topic, tp.partition): tp.offset for tp in found if tp.offset >= 0}

    def _end_offsets(self, offsets: Offsets) -> dict[str, int]:
        """Per stage, its partitions' end offsets summed; a stage with a partition whose end could not be read (its
        leader down: a negative offset) is left out of the sample (a gap, not a drop)."""
        found = {}
        for stage, topics in self._stages.items():
            ends = [offsets.ends[(topic, p)].end for topic in topics for p in offsets.partitions.get(topic, [])]
            if all(end >= 0 for end in ends):
                found[stage] = sum(ends)
        return found

    def _lags(self, offsets: Offsets) -> dict[str, int]:
        lags: dict[str, int] = {}
        for name, (group, topics) in self._consumers.items():
            commits = offsets.committed.get(group)
            if commits is None:  # unread: left out, not counted as never committed
                continue
            lags[name] = sum(waiting_events(commits.get((topic, p)), offsets.ends[(topic, p)])
                             for topic in topics for p in offsets.partitions.get(topic, []))
        return lags
