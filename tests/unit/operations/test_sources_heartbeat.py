"""The normaliser's source heartbeat without a broker (a list for a sink, a hand-moved clock) and the records of the
sources topic: what is noted, when it is written, what a reader makes of records in any order."""

from __future__ import annotations

import datetime as dt
import itertools
import random

from govbus.last_events import (
    UNNAMED,
    WATCHER_REFRESH_SECONDS,
    LastEvent,
    LastEvents,
    Watcher,
    decode,
    encode,
    merge,
    source_name,
)
from streams.normalising.heartbeat import SourceHeartbeat

T0 = 1_780_000_000.0  # seconds since the epoch
ITEM = "enterprise_registration"
DEPT = "market-regulation"


class ListSink:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, bytes]] = []
        self.closed = False

    def send(self, key: bytes, value: bytes) -> None:
        self.sent.append((key, value))

    def close(self, timeout: float) -> int:
        self.closed = True
        return 0

    def records(self) -> list[LastEvent | Watcher | None]:
        found = [decode(key, value) for key, value in self.sent]
        self.sent.clear()
        return found


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def heartbeat(sink: ListSink, clock: Clock, max_sources: int = 100) -> SourceHeartbeat:
    return SourceHeartbeat(sink, "norm-1", [ITEM], interval=5.0, max_sources=max_sources, clock=clock)


def ms(seconds: float) -> int:
    return int(seconds * 1000)


def test_the_newest_timestamp_per_source_is_written_once_per_flush_and_only_when_it_had_events() -> None:
    sink, clock = ListSink(), Clock()
    beat = heartbeat(sink, clock)
    beat.flush()
    [first] = sink.records()
    assert isinstance(first, Watcher) and first.items == (ITEM,) and first.watcher == "norm-1"
    for stamp in (T0 - 30, T0 - 10, T0 - 20):  # out of order: the newest counts
        beat.note(DEPT, ITEM, "registration-db", ms(stamp))
    beat.note(DEPT, ITEM, "zhejiang-aic-v2", ms(T0 - 5))
    clock.now += 1
    beat.flush()
    records = {r.source_system: r for r in sink.records() if isinstance(r, LastEvent)}
    assert set(records) == {"registration-db", "zhejiang-aic-v2"}
    assert records["registration-db"].last_event_at.timestamp() == T0 - 10
    assert records["registration-db"].events == 3
    assert records["registration-db"].last_seen_at.timestamp() == T0  # when the newest was read
    clock.now += 5
    beat.flush()
    assert sink.records() == [], "no events since: nothing written (the watcher is refreshed once a minute)"
    beat.note(DEPT, ITEM, "registration-db", ms(T0 - 60))  # older than what it knows: counted, time kept
    beat.flush()
    [again] = sink.records()
    assert isinstance(again, LastEvent) and again.events == 4 and again.last_event_at.timestamp() == T0 - 10


def test_the_watcher_record_is_refreshed_every_minute_and_at_stop() -> None:
    sink, clock = ListSink(), Clock()
    beat = heartbeat(sink, clock)
    beat.flush()
    assert [type(record) for record in sink.records()] == [Watcher]
    clock.now += WATCHER_REFRESH_SECONDS - 1
    beat.flush()
    assert sink.records() == []
    clock.now += 1
    beat.flush()
    [refreshed] = sink.records()
    assert isinstance(refreshed, Watcher) and refreshed.seen_at.timestamp() == T0 + WATCHER_REFRESH_SECONDS
    beat.note(DEPT, ITEM, "registration-db", ms(T0))
    beat.stop()
    final = sink.records()
    assert {type(record) for record in final} == {LastEvent, Watcher} and sink.closed


def test_a_timestamp_from_the_future_counts_as_now_and_a_missing_one_as_now() -> None:
    sink, clock = ListSink(), Clock()
    beat = heartbeat(sink, clock)
    beat.note(DEPT, ITEM, "registration-db", ms(T0 + 86_400 * 365))
    beat.note(DEPT, ITEM, "outbox", -1)
    beat.flush()
    times = {r.source_system: r.last_event_at.timestamp() for r in sink.records() if isinstance(r, LastEvent)}
    assert times == {"registration-db": T0, "outbox": T0}


def test_a_source_system_that_is_no_plain_name_is_noted_as_unnamed() -> None:
    assert source_name("zhejiang-aic-v2") == "zhejiang-aic-v2"
    for bad in ("", "a/b", "110101199003071234 张三", "x" * 65, None, 42, "line\nbreak", "-lead", "110101199003071234",
                "sys-13800138000", "3f2a9c1e-0b6d-4c1e-9f7a-2b8c4d5e6f70", "abc\n", "138-1234-5678",
                "110101-19900307-1234", "1381234.5678"):
        assert source_name(bad) == UNNAMED, bad
    sink, clock = ListSink(), Clock()
    beat = heartbeat(sink, clock)
    beat.note(DEPT, ITEM, "张三 110101199003071234", ms(T0))
    beat.note(DEPT, ITEM, None, ms(T0))
    beat.flush()
    [record] = [r for r in sink.records() if isinstance(r, LastEvent)]
    assert record.source_system == UNNAMED and record.events == 2
    assert "张三" not in str(sink.sent)


def test_sources_beyond_the_limit_are_counted_not_tracked() -> None:
    sink, clock = ListSink(), Clock()
    beat = heartbeat(sink, clock, max_sources=2)
    for name in ("a", "b", "c", "c", "a"):
        beat.note(DEPT, ITEM, name, ms(T0))
    assert beat.tracked == 2 and beat.untracked_events == 2


def test_a_worker_starts_from_the_topics_last_events_of_its_items() -> None:
    sink, clock = ListSink(), Clock()
    beat = heartbeat(sink, clock)
    known = merge([_event("registration-db", T0 - 10, events=7), _event("other", T0 - 10, item="credit_record")])
    assert beat.seed(known) == 1
    beat.note(DEPT, ITEM, "registration-db", ms(T0 - 100))  # a backlog replayed after a restart
    beat.flush()
    [record] = [r for r in sink.records() if isinstance(r, LastEvent)]
    assert record.last_event_at.timestamp() == T0 - 10 and record.events == 8


def _event(system: str, at: float, events: int = 1, item: str = ITEM) -> LastEvent:
    moment = dt.datetime.fromtimestamp(at, dt.UTC)
    return LastEvent(department=DEPT, item=item, source_system=system, last_event_at=moment, last_seen_at=moment,
                     events=events)


def test_records_round_trip_and_bad_ones_are_counted_not_raised() -> None:
    record = _event("registration-db", T0)
    key, value = encode(record)
    assert key == b"market-regulation/enterprise_registration/registration-db"
    assert decode(key, value) == record
    watcher = Watcher(watcher="norm-1", items=(ITEM,), started_at=record.last_event_at, seen_at=record.last_event_at)
    assert decode(*encode(watcher)) == watcher and encode(watcher)[0] == b"watcher/norm-1"
    assert decode(key, None) is None and decode(None, value) is None
    assert decode(key, b"{not json") is None and decode(key, b'{"department": "x"}') is None
    merged = merge([decode(key, value), decode(key, b"[]"), None])
    assert merged.unreadable == 2 and list(merged.sources) == [record.key]


def test_a_reader_keeps_the_newest_time_per_source_whatever_order_the_records_came_in() -> None:
    """Two workers wrote the same source; records repeat and arrive late: the merge never goes backwards."""
    records: list[LastEvent | Watcher] = [_event("registration-db", T0 - age, events=n)
                                          for n, age in enumerate((50, 10, 30, 10, 40))]
    records += [Watcher(watcher="norm-1", items=(ITEM,), started_at=dt.datetime.fromtimestamp(T0 - 60, dt.UTC),
                        seen_at=dt.datetime.fromtimestamp(T0 - age, dt.UTC)) for age in (5, 1, 3)]
    for order in itertools.islice(itertools.permutations(records), 0, None, 997):
        merged: LastEvents = merge(order)
        [source] = merged.sources.values()
        assert source.last_event_at.timestamp() == T0 - 10 and source.events == 4
        assert merged.last_watcher_seen() == dt.datetime.fromtimestamp(T0 - 1, dt.UTC)
    random.Random(5).shuffle(records)
    assert merge(records).watched_items() == {ITEM}
