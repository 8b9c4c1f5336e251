"""What the exporter asks the broker, with the operator's rights (DESCRIBE) only.

- :meth:`OffsetReader.topics`: the topics under the prefix and their partitions (Metadata);
- :meth:`OffsetReader.groups`: the consumer groups whose ids start with the watched prefixes (ListGroups);
- :meth:`OffsetReader.committed`: each group's committed offsets on the partitions of the topics last listed
  (OffsetFetch, one request per group, several groups at once), read by a consumer in that group;
- :meth:`OffsetReader.ends`: each partition's log start and end offsets (ListOffsets, ``read_committed``:
  the last stable offset, what the groups' consumers can reach);
- :meth:`OffsetReader.timestamps`: the timestamps of records at given offsets, bisected with ListOffsets by
  timestamp (:mod:`govbus.operations.age_search`), every search's round in one request per partition layer.

All but the commits go through one admin client. A group's commits are read by a consumer of that group
(:func:`govbus.clients.consumer`) that never subscribes, so it never joins the group nor commits, and reads
``read_uncommitted`` so that a transaction under way shows the last commit it would replace (as the admin
client's request does) instead of holding the request until that transaction ends. Not the admin client's
ListConsumerGroupOffsets: librdkafka (2.12) can crash the whole process there when the broker answers
NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS (a group new to a fresh broker, or any group after a broker
restart): a segmentation fault (librdkafka issue #5040) or the assertion ``eonce->refcnt > 0`` in
``rd_kafka_enq_once_del_source_return``. A consumer's own OffsetFetch finds the coordinator again and retries.

Those consumers are kept between reads (a refresh every few seconds would otherwise connect and find each
group's coordinator anew): one per watched group, at most :data:`CACHED_CONSUMERS`, a group's closed once it
is no longer listed or after its read failed (the next read makes a fresh one), and all of them by
:meth:`OffsetReader.close`. Each is a librdkafka client of its own: measured with 20 groups on a one-broker
bus, each kept reader cost about 0.65 MB of resident memory and 4 threads (a thread more per broker of a
larger cluster); the first refresh, which makes them, took 0.8 to 1 s instead of 0.17 s, the later ones the
same as before (about 0.09 s).

Any broker error raises :class:`PlatformError`: the refresh then fails as a whole and the exporter keeps
serving what it read last.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from confluent_kafka import Consumer, IsolationLevel, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import OffsetSpec

from govbus import clients
from govbus.connection import KafkaConnection
from govbus.exceptions import PlatformError
from govbus.operations.age_search import AgeSearch
from govbus.operations.lag import PartitionEnds, Position, Target

log = logging.getLogger(__name__)

CACHED_CONSUMERS = 200
"""the most groups whose commit readers are kept between reads (a group beyond gets one for one read)"""

PARALLEL_READS = 8
"""the most groups' commits read at once"""

_COMMIT_READER_ID = "govbus-exporter-offsets"


def _error_text(error: BaseException) -> str:
    if isinstance(error, KafkaException) and error.args and isinstance(error.args[0], KafkaError):
        return str(error.args[0].str())
    return str(error) or type(error).__name__


class OffsetReader:
    """The broker reads of one refresh (see the module docstring); :meth:`close` once done with it."""

    def __init__(self, kafka: KafkaConnection, timeout: float) -> None:
        self._kafka = kafka
        self._admin = clients.admin(kafka, {"client.id": "govbus-exporter"})
        self._timeout = timeout
        self._partitions: dict[str, list[int]] | None = None
        """every topic of the last metadata read -> its partition ids"""
        self._consumers: dict[str, Consumer] = {}
        """group -> the consumer that reads its commits"""
        self.requests = 0
        """requests sent so far (for the refresh's log line)"""

    def close(self) -> None:
        """Close the groups' commit readers (the admin client has nothing to close)."""
        for group in list(self._consumers):
            self._drop(group)

    def kept(self) -> list[str]:
        """The groups whose commit readers are kept open between reads."""
        return sorted(self._consumers)

    def _wait(self, future: Future[Any], what: str) -> Any:
        try:
            return future.result(timeout=self._timeout * 2)
        except Exception as error:  # KafkaException, a timeout: one error naming the step
            raise PlatformError(f"{what} failed: {_error_text(error)}") from error

    def _list_partitions(self) -> dict[str, list[int]]:
        self.requests += 1
        try:
            listed = self._admin.list_topics(timeout=self._timeout).topics
        except KafkaException as error:
            raise PlatformError(f"listing the topics failed: {_error_text(error)}") from error
        self._partitions = {name: sorted(metadata.partitions) for name, metadata in listed.items()
                            if metadata.error is None}
        return self._partitions

    def topics(self, wanted: Callable[[str], bool]) -> dict[str, list[int]]:
        """The topics ``wanted`` keeps (that this principal may describe) -> their partition ids."""
        return {name: partitions for name, partitions in self._list_partitions().items() if wanted(name)}

    def groups(self, wanted: Callable[[str], bool]) -> list[str]:
        """The ids of the consumer groups ``wanted`` keeps, in any state (a stopped group's too)."""
        self.requests += 1
        result = self._wait(self._admin.list_consumer_groups(request_timeout=self._timeout), "listing the groups")
        if result.errors:
            raise PlatformError(f"listing the groups failed: {_error_text(result.errors[0])}")
        return sorted(listing.group_id for listing in result.valid if wanted(listing.group_id))

    def committed(self, groups: Iterable[str], wanted: Callable[[str], bool]) -> dict[str, dict[Position, int]]:
        """Each group's committed offsets on the partitions of the topics ``wanted`` keeps, as the last
        :meth:`topics` listed them (listed now if never); a group without commits there (or that vanished) has
        none. The readers of groups not in ``groups`` are closed."""
        listed = list(dict.fromkeys(groups))
        for group in set(self._consumers) - set(listed):
            self._drop(group)
        partitions = self._partitions if self._partitions is not None else self._list_partitions()
        asked = [TopicPartition(topic, p) for topic, ids in sorted(partitions.items()) if wanted(topic) for p in ids]
        if not listed or not asked:
            return {group: {} for group in listed}
        readers: dict[str, Consumer] = {}
        found: dict[str, dict[Position, int]] = {}
        failed: dict[str, Exception] = {}
        try:
            for index, group in enumerate(listed):
                readers[group] = self._reader(group, index < CACHED_CONSUMERS)
            with ThreadPoolExecutor(max_workers=min(PARALLEL_READS, len(listed)),
                                    thread_name_prefix="offset-fetch") as pool:
                reads = {group: pool.submit(_read_commits, reader, asked, self._timeout)
                         for group, reader in readers.items()}
                self.requests += len(reads)
                for group, read in reads.items():
                    try:
                        found[group] = read.result()
                    except Exception as error:  # KafkaException, a timeout, a closed consumer
                        failed[group] = error
        finally:
            for group, reader in readers.items():
                if self._consumers.get(group) is not reader:  # one beyond the cache: for this read only
                    _close(group, reader)
        if failed:
            self._drop_failed(failed)
            first, cause = next(iter(failed.items()))
            more = f" (and of {len(failed) - 1} more groups)" if len(failed) > 1 else ""
            raise PlatformError(f"fetching the offsets of group {first!r}{more} failed: {_error_text(cause)}; the "
                                "next read asks again with a new reader (check that the broker is up and the "
                                "group's coordinator answers)") from cause
        return found

    def _reader(self, group: str, cached: bool) -> Consumer:
        """``group``'s commit reader: the kept one, else a new one (kept if ``cached``)."""
        reader = self._consumers.get(group)
        if reader is not None:
            return reader
        try:
            reader = clients.commit_reader(self._kafka, group, _COMMIT_READER_ID)
        except KafkaException as error:
            raise PlatformError(f"making a reader of the commits of group {group!r} failed: "
                                f"{_error_text(error)}") from error
        if cached:
            self._consumers[group] = reader
        else:
            log.debug("more watched groups than kept commit readers", extra={"group": group,
                                                                              "kept": CACHED_CONSUMERS})
        return reader

    def _drop_failed(self, failed: Mapping[str, Exception]) -> None:
        """Close the failed groups' readers: one may be stuck on a coordinator that moved, the next read makes a
        fresh one."""
        for group, error in failed.items():
            log.warning("reading a group's commits failed; its reader is replaced at the next read",
                        extra={"group": group, "error": _error_text(error)})
            self._drop(group)

    def _drop(self, group: str) -> None:
        reader = self._consumers.pop(group, None)
        if reader is not None:
            _close(group, reader)

    def _ask(self, specs: Mapping[TopicPartition, OffsetSpec]) -> dict[TopicPartition, Future[Any]]:
        """Send one ListOffsets request (no wait)."""
        self.requests += 1
        futures: dict[TopicPartition, Future[Any]] = self._admin.list_offsets(
            dict(specs), isolation_level=IsolationLevel.READ_COMMITTED, request_timeout=self._timeout)
        return futures

    def _list_offsets(self, specs: Mapping[TopicPartition, OffsetSpec], what: str) -> dict[Position, Any]:
        if not specs:
            return {}
        return {(tp.topic, tp.partition): self._wait(future, what) for tp, future in self._ask(specs).items()}

    def ends(self, partitions: Iterable[Position]) -> dict[Position, PartitionEnds]:
        """Each partition's log start offset and last stable offset."""
        positions = list(partitions)
        earliest = self._list_offsets({TopicPartition(t, p): OffsetSpec.earliest() for t, p in positions},
                                      "listing the partitions' start offsets")
        latest = self._list_offsets({TopicPartition(t, p): OffsetSpec.latest() for t, p in positions},
                                    "listing the partitions' end offsets")
        return {position: PartitionEnds(earliest[position].offset, latest[position].offset) for position in positions}

    def offsets_at(self, partitions: Iterable[Position], at_ms: int) -> dict[Position, int]:
        """Per partition, the offset of the first record with a timestamp at or after ``at_ms`` (-1: none)."""
        found = self._list_offsets({TopicPartition(t, p): OffsetSpec.for_timestamp(at_ms) for t, p in partitions},
                                   "listing the offsets at a time")
        return {position: int(result.offset) for position, result in found.items()}

    def timestamps(self, wanted: Iterable[Target], now_ms: int) -> dict[Target, int]:
        """The timestamp (ms) of the record at each target offset (a target with no record is left out)."""
        searches = {target: AgeSearch(target[2], now_ms) for target in wanted}
        while open_searches := [(t, s) for t, s in searches.items() if not s.done]:
            questions: dict[tuple[Position, int], list[AgeSearch]] = {}
            for target, search in open_searches:  # searches asking the same partition the same time share it
                questions.setdefault(((target[0], target[1]), search.probe()), []).append(search)
            sent = [(layer, self._ask({TopicPartition(*position): OffsetSpec.for_timestamp(asked)
                                       for position, asked in layer}))
                    for layer in _layers(questions)]  # every layer under way at once
            for layer, futures in sent:
                answers = {(tp.topic, tp.partition): future for tp, future in futures.items()}
                for position, asked in layer:
                    answer = self._wait(answers[position], "looking up the waiting records' times")
                    for search in questions[(position, asked)]:
                        search.answer(answer.offset, answer.timestamp)
        return {target: found for target, search in searches.items() if (found := search.found) is not None}


def _read_commits(reader: Consumer, asked: list[TopicPartition], timeout: float) -> dict[Position, int]:
    """The commits of ``reader``'s group on ``asked`` (a partition never committed on is left out)."""
    found = reader.committed(asked, timeout=timeout)
    unread = next((tp for tp in found if tp.error is not None), None)
    if unread is not None:  # a partition unread is not one never committed: the group counts as unread
        raise KafkaException(unread.error)
    return {(tp.topic, tp.partition): tp.offset for tp in found if tp.offset >= 0}


def _close(group: str, reader: Consumer) -> None:
    try:
        reader.close()
    except (KafkaException, RuntimeError) as error:  # closing a broken reader: nothing more to do
        log.debug("closing a group's commit reader failed", extra={"group": group, "error": _error_text(error)})


def _layers(questions: Iterable[tuple[Position, int]]) -> list[list[tuple[Position, int]]]:
    """The questions (partition, time) split so that no partition is asked twice in one request (two groups at
    different offsets of one partition may ask it different times)."""
    layers: list[list[tuple[Position, int]]] = []
    taken: list[set[Position]] = []
    for position, asked in questions:
        index = next((i for i, positions in enumerate(taken) if position not in positions), len(layers))
        if index == len(layers):
            layers.append([])
            taken.append(set())
        layers[index].append((position, asked))
        taken[index].add(position)
    return layers
