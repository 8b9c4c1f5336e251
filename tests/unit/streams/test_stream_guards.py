"""The shared rebalance guards (streams/guards.py) as the normaliser uses them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from streams import guards
from streams.guards import OffsetGuard, SkippedOffsetsError, guard_app, stop_without_commit
from streams.normalising.settings import NormaliserSettings


class TP:
    def __init__(self, topic: str, partition: int) -> None:
        self.topic, self.partition = topic, partition


class Signal:
    def __init__(self) -> None:
        self.receivers: list[Callable[..., None]] = []

    def connect(self, receiver: Callable[..., None]) -> None:
        self.receivers.append(receiver)

    def send(self, *args: Any) -> None:
        for receiver in self.receivers:
            receiver(self, *args, signal=self)


class Recovery:
    in_recovery = True
    left = 100

    def active_remaining_total(self) -> int:
        return self.left


class FakeApp:
    """What guard_app uses of a faust app."""

    def __init__(self) -> None:
        self.on_partitions_revoked = Signal()
        self.timers: list[tuple[float, Callable[[], Awaitable[None]]]] = []
        self.tables = type("Tables", (), {"recovery": Recovery()})()

    def timer(self, interval: float) -> Callable[[Callable[[], Awaitable[None]]], None]:
        return lambda fun: self.timers.append((interval, fun))


class Exited(Exception):
    pass


@pytest.fixture
def exits(monkeypatch: pytest.MonkeyPatch) -> None:
    def exit_(code: int) -> None:
        raise Exited(code)

    monkeypatch.setattr(guards.os, "_exit", exit_)


def test_normaliser_settings_turn_the_guards_on_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = NormaliserSettings()
    assert defaults.normaliser_offset_gap_check is True and defaults.normaliser_stall_seconds == 30
    monkeypatch.setenv("GOVBUS_NORMALISER_OFFSET_GAP_CHECK", "false")
    monkeypatch.setenv("GOVBUS_NORMALISER_STALL_SECONDS", "12")
    changed = NormaliserSettings()
    assert changed.normaliser_offset_gap_check is False and changed.normaliser_stall_seconds == 12


def test_stop_without_commit_logs_and_exits_70(exits: None, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.CRITICAL), pytest.raises(Exited) as exited:
        stop_without_commit("normalise-x", SkippedOffsetsError("offsets 3..4 were skipped"))
    assert exited.value.args == (70,)
    assert "stopping the worker without committing" in caplog.text and "offsets 3..4" in caplog.text


def test_guard_app_forgets_counts_on_revocation_and_stops_on_a_stalled_recovery(exits: None) -> None:
    app, guard, tp = FakeApp(), OffsetGuard(), TP("dept", 0)
    guard_app(app, stall_seconds=6, offset_guard=guard)
    guard.check(tp, 10)
    with pytest.raises(SkippedOffsetsError):
        guard.check(tp, 12)
    app.on_partitions_revoked.send({tp})
    guard.check(tp, 12)  # a new assignment starts afresh

    [(interval, _)] = app.timers
    assert interval == 1.0


def test_guard_app_without_offset_guard_only_watches_recovery(exits: None) -> None:
    app = FakeApp()
    guard_app(app, stall_seconds=0.05, offset_guard=None)
    assert not app.on_partitions_revoked.receivers
    [(_, watch)] = app.timers
    asyncio.run(watch())  # recovery has 100 records left: remembered
    app.tables.recovery.left = 90
    asyncio.run(watch())  # progress
    time.sleep(0.1)
    with pytest.raises(Exited) as exited:  # nothing read for longer than the stall time
        asyncio.run(watch())
    assert exited.value.args == (70,)


def test_drain_and_stop_suspends_flushes_then_exits_70(exits: None, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    class FlowControl:
        def suspend(self) -> None:
            calls.append("suspend")

        def clear(self) -> None:
            calls.append("clear")

    class Producer:
        async def flush(self) -> None:
            calls.append("flush")

    async def no_wait(_: float) -> None:
        return None

    monkeypatch.setattr(guards.asyncio, "sleep", no_wait)
    app = type("App", (), {"flow_control": FlowControl(), "producer": Producer()})()
    with pytest.raises(Exited) as exited:
        asyncio.run(guards.drain_and_stop(app, "normalise-x", SkippedOffsetsError("gap")))
    assert exited.value.args == (70,) and calls == ["suspend", "clear", "flush"]


def test_drain_and_stop_exits_even_when_the_flush_fails(exits: None, monkeypatch: pytest.MonkeyPatch) -> None:
    class Producer:
        async def flush(self) -> None:
            raise RuntimeError("broker gone")

    async def no_wait(_: float) -> None:
        return None

    monkeypatch.setattr(guards.asyncio, "sleep", no_wait)
    flow = type("Flow", (), {"suspend": lambda self: None, "clear": lambda self: None})()
    app = type("App", (), {"flow_control": flow, "producer": Producer()})()
    with pytest.raises(Exited) as exited:
        asyncio.run(guards.drain_and_stop(app, "normalise-x", SkippedOffsetsError("gap")))
    assert exited.value.args == (70,)


def test_the_stall_watchdog_trips_only_when_waiting_records_stop_being_handled() -> None:
    from streams.guards import StallWatchdog, StreamStalledError

    class TP:
        def __init__(self, partition: int) -> None:
            self.topic, self.partition = "dept.identity", partition

    p0, p1 = TP(0), TP(1)
    now = [0.0]
    watchdog = StallWatchdog(stall_seconds=30, clock=lambda: now[0])

    def at(seconds: float, ends: dict[TP, int], handled_up_to: dict[TP, int | None]) -> None:
        now[0] = seconds
        watchdog.observe(ends, handled_up_to)

    at(0, {p0: 100, p1: 50}, {p0: 100, p1: None})  # p0 caught up; p1's start unknown: no verdict
    at(10, {p0: 120}, {p0: 100})  # 20 records arrive on p0
    at(35, {p0: 120}, {p0: 110})  # slow, but progressing
    at(60, {p0: 130}, {p0: 110})  # 25 s without progress while records wait: still within 30 s
    at(61, {p0: 130}, {p0: 130})  # caught up
    at(200, {p0: 130}, {p0: 130})  # idle for long: nothing waits, fine
    at(210, {p0: 131}, {p0: 130})
    watchdog.reset()  # a rebalance: the clock starts again
    at(230, {p0: 131}, {p0: 130})
    with pytest.raises(StreamStalledError, match=r"dept.identity\[0\]: 1 record\(s\) from offset 130 have waited 30 s"):
        at(260, {p0: 131}, {p0: 130})


def test_the_offset_guard_says_where_handling_resumes_and_holds_off_the_stall_check_while_waiting() -> None:
    from streams.guards import OffsetGuard

    class TP:
        def __init__(self, partition: int) -> None:
            self.topic, self.partition = "input", partition

    p0, p1 = TP(0), TP(1)
    guard = OffsetGuard({p0: 40, p1: 7}.get)
    assert guard.next_offset(p0) == 40, "before any event: where the assignment starts (the committed offset)"
    guard.check(p0, 40)
    guard.check(p0, 41)
    assert guard.next_offset(p0) == 42 and guard.next_offset(p1) == 7
    with guard.waiting():
        assert guard.waits == 1
    assert guard.waits == 0
