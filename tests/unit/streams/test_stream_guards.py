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
    assert defaults.normaliser_offset_gap_check is True and defaults.normaliser_recovery_stall_seconds == 30
    monkeypatch.setenv("GOVBUS_NORMALISER_OFFSET_GAP_CHECK", "false")
    monkeypatch.setenv("GOVBUS_NORMALISER_RECOVERY_STALL_SECONDS", "12")
    changed = NormaliserSettings()
    assert changed.normaliser_offset_gap_check is False and changed.normaliser_recovery_stall_seconds == 12


def test_the_profile_module_still_exports_the_shared_guards() -> None:
    from streams.profiles import guards as profile_guards

    assert profile_guards.OffsetGuard is OffsetGuard and profile_guards.SkippedOffsetsError is SkippedOffsetsError


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
