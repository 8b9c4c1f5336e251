"""What the exporter asks the broker, with one admin client and the operator's rights (DESCRIBE) only.

- :meth:`OffsetReader.topics`: the topics under the prefix and their partitions (Metadata);
- :meth:`OffsetReader.groups`: the consumer groups whose ids start with the watched prefixes (ListGroups);
- :meth:`OffsetReader.committed`: each group's committed offsets (OffsetFetch, one request per group, all
  under way at once);
- :meth:`OffsetReader.ends`: each partition's log start and end offsets (ListOffsets, ``read_committed``:
  the last stable offset, what the groups' consumers can reach);
- :meth:`OffsetReader.timestamps`: the timestamps of records at given offsets, bisected with ListOffsets by
  timestamp (:mod:`govbus.operations.age_search`), every search's round in one request per partition layer.

Any broker error but a group that vanished between two requests raises :class:`PlatformError`: the refresh
then fails as a whole and the exporter keeps serving what it read last.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, IsolationLevel, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import OffsetSpec

from govbus import clients
from govbus.connection import KafkaConnection
from govbus.exceptions import PlatformError
from govbus.operations.age_search import AgeSearch
from govbus.operations.lag import PartitionEnds, Position, Target

_GONE = {KafkaError.GROUP_ID_NOT_FOUND, KafkaError._UNKNOWN_GROUP}


def _error_text(error: BaseException) -> str:
    if isinstance(error, KafkaException) and error.args and isinstance(error.args[0], KafkaError):
        return str(error.args[0].str())
    return str(error) or type(error).__name__


class OffsetReader:
    """The broker reads of one refresh (see the module docstring)."""

    def __init__(self, kafka: KafkaConnection, timeout: float) -> None:
        self._admin = clients.admin(kafka, {"client.id": "govbus-exporter"})
        self._timeout = timeout
        self.requests = 0
        """requests sent so far (for the refresh's log line)"""

    def _wait(self, future: Future[Any], what: str) -> Any:
        try:
            return future.result(timeout=self._timeout * 2)
        except Exception as error:  # KafkaException, a timeout: one error naming the step
            raise PlatformError(f"{what} failed: {_error_text(error)}") from error

    def topics(self, wanted: Callable[[str], bool]) -> dict[str, list[int]]:
        """The topics ``wanted`` keeps (that this principal may describe) -> their partition ids."""
        self.requests += 1
        try:
            listed = self._admin.list_topics(timeout=self._timeout).topics
        except KafkaException as error:
            raise PlatformError(f"listing the topics failed: {_error_text(error)}") from error
        return {name: sorted(metadata.partitions) for name, metadata in listed.items()
                if wanted(name) and metadata.error is None}

    def groups(self, wanted: Callable[[str], bool]) -> list[str]:
        """The ids of the consumer groups ``wanted`` keeps, in any state (a stopped group's too)."""
        self.requests += 1
        result = self._wait(self._admin.list_consumer_groups(request_timeout=self._timeout), "listing the groups")
        if result.errors:
            raise PlatformError(f"listing the groups failed: {_error_text(result.errors[0])}")
        return sorted(listing.group_id for listing in result.valid if wanted(listing.group_id))

    def committed(self, groups: Iterable[str], wanted: Callable[[str], bool]) -> dict[str, dict[Position, int]]:
        """Each group's committed offsets on the topics ``wanted`` keeps; a group that vanished meanwhile is left
        out."""
        futures = {}
        for group in groups:
            request = [ConsumerGroupTopicPartitions(group)]
            futures[group] = self._admin.list_consumer_group_offsets(request, request_timeout=self._timeout)[group]
            self.requests += 1
        found: dict[str, dict[Position, int]] = {}
        for group, future in futures.items():
            try:
                result = future.result(timeout=self._timeout * 2)
            except KafkaException as error:
                if error.args and isinstance(error.args[0], KafkaError) and error.args[0].code() in _GONE:
                    continue
                raise PlatformError(f"fetching the offsets of group {group!r} failed: {_error_text(error)}") from error
            except Exception as error:
                raise PlatformError(f"fetching the offsets of group {group!r} failed: {_error_text(error)}") from error
            found[group] = {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions
                            if tp.error is None and tp.offset >= 0 and wanted(tp.topic)}
        return found

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
