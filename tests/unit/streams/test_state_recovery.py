"""What the engine adds to Quix's state recovery, without a broker: the worker's transactional id, the wait for
open changelog transactions, the retried early seek. The restart and scale-out tests prove them against the broker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from streams.state_recovery import (
    lock_state_dir,
    retry_early_seeks,
    wait_for_settled_changelogs,
    worker_transactional_id,
)

CHANGELOG = "changelog__g--in--default"


def test_a_worker_keeps_its_transactional_id_across_restarts_and_no_other_worker_has_it(tmp_path: Path) -> None:
    first = worker_transactional_id("normaliser", tmp_path / "a", host="h1")
    assert worker_transactional_id("normaliser", tmp_path / "a", host="h1") == first
    assert worker_transactional_id("normaliser", tmp_path / "a" / ".." / "a", host="h1") == first
    others = {worker_transactional_id("normaliser", tmp_path / "b", host="h1"),
              worker_transactional_id("normaliser", tmp_path / "a", host="h2"),
              worker_transactional_id("profiles", tmp_path / "a", host="h1")}
    assert first not in others and len(others) == 3


def test_a_second_worker_of_a_group_with_the_same_state_directory_stops_at_start(tmp_path: Path) -> None:
    lock_state_dir("normaliser", tmp_path)  # this process is the first worker
    lock_state_dir("profiles", tmp_path)  # another group: its own lock
    second = subprocess.run([sys.executable, "-c", "from pathlib import Path; from streams.state_recovery import "
                             f"lock_state_dir; lock_state_dir('normaliser', Path({str(tmp_path)!r}))"],
                            capture_output=True, text=True, timeout=60)
    assert second.returncode != 0 and "GOVBUS_STREAMS_STATE_DIR" in second.stderr


class Changelog:
    """A consumer whose read_committed end reaches the written end after ``open_for`` queries."""

    def __init__(self, written: int, stable: int, open_for: int) -> None:
        self.written, self.stable, self.open_for, self.queries = written, stable, open_for, 0

    def get_watermark_offsets(self, partition: TopicPartition, timeout: float | None = None,
                              cached: bool = False) -> tuple[int, int]:
        self.queries += 1
        return 0, (self.written if self.queries > self.open_for else self.stable)


def _settle(consumer: Changelog, limit: float) -> list[float]:
    now, slept = [0.0], []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    wait_for_settled_changelogs(consumer, lambda partition: consumer.written, limit, clock=lambda: now[0],
                                sleep=sleep)
    return slept


def test_recovery_aims_at_a_changelog_end_only_once_no_transaction_is_open_on_it() -> None:
    consumer = Changelog(written=300, stable=200, open_for=4)
    slept = _settle(consumer, limit=25)
    assert consumer.get_watermark_offsets(TopicPartition(CHANGELOG, 0), timeout=10) == (0, 300)
    assert consumer.queries == 5 and len(slept) == 4


def test_other_topics_and_cached_queries_do_not_wait() -> None:
    consumer = Changelog(written=300, stable=200, open_for=10**6)
    _settle(consumer, limit=25)
    assert consumer.get_watermark_offsets(TopicPartition("govbus.canonical.x", 0)) == (0, 200)
    assert consumer.get_watermark_offsets(TopicPartition(CHANGELOG, 0), cached=True) == (0, 200)
    assert consumer.queries == 2


def test_a_transaction_open_past_the_limit_is_waited_for_no_longer_and_once_for_all_partitions() -> None:
    consumer = Changelog(written=300, stable=200, open_for=10**6)
    slept = _settle(consumer, limit=25)
    assert consumer.get_watermark_offsets(TopicPartition(CHANGELOG, 0)) == (0, 200)
    assert 120 < len(slept) < 130, "about 25 s of 0.2 s waits"
    assert consumer.get_watermark_offsets(TopicPartition(CHANGELOG, 1)) == (0, 200)
    assert 120 < len(slept) < 130, "the next partition of the same assignment does not wait again"


def test_a_broker_that_cannot_say_where_a_changelog_ends_is_not_waited_for() -> None:
    consumer = Changelog(written=300, stable=200, open_for=10**6)

    def failing(partition: TopicPartition) -> int:
        raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "timed out"))

    wait_for_settled_changelogs(consumer, failing, 25, sleep=lambda s: pytest.fail("must not wait"))
    assert consumer.get_watermark_offsets(TopicPartition(CHANGELOG, 0)) == (0, 200)


class RefusingConsumer:
    def __init__(self, refusals: int, code: int = KafkaError._STATE) -> None:
        self.refusals, self.code, self.seeks = refusals, code, 0

    def seek(self, partition: TopicPartition) -> None:
        self.seeks += 1
        if self.seeks <= self.refusals:
            raise KafkaException(KafkaError(self.code, "Failed to seek to offset 27: Local: Erroneous state"))


def test_a_seek_refused_before_the_fetcher_started_is_tried_again() -> None:
    consumer, now, slept = RefusingConsumer(refusals=3), [0.0], []
    retry_early_seeks(consumer, clock=lambda: now[0], sleep=lambda s: (slept.append(s), now.__setitem__(0, now[0] + s)))
    consumer.seek(TopicPartition("changelog__g--in--default", 0, 27))
    assert consumer.seeks == 4 and len(slept) == 3


def test_other_seek_errors_and_a_lasting_refusal_are_raised() -> None:
    other = RefusingConsumer(refusals=1, code=KafkaError.UNKNOWN_TOPIC_OR_PART)
    retry_early_seeks(other, sleep=lambda s: None)
    with pytest.raises(KafkaException):
        other.seek(TopicPartition("t", 0, 1))
    assert other.seeks == 1
    lasting, now = RefusingConsumer(refusals=10**6), [0.0]
    retry_early_seeks(lasting, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    with pytest.raises(KafkaException):
        lasting.seek(TopicPartition("t", 0, 1))
    assert 90 < lasting.seeks < 110, "about 5 s of 50 ms waits"
