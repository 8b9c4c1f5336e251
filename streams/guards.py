"""Guards against faust-streaming 0.15.3's rebalance faults: they stop the worker (exit 70) instead.

Shared by the profile builder (:mod:`streams.profiles.app`) and the normaliser
(:mod:`streams.normaliser`). Both turn a silent fault into a restart by the supervisor (systemd
``Restart=on-failure``, a Kubernetes Deployment); a restarted worker replays from the last
committed offset (the profile state's versions and the normaliser's event-id table make that safe).

- :class:`OffsetGuard`: the consumer skipped messages of a partition (within one assignment, or
  at its start: the first message after an assignment is past the committed offset).
- :class:`RecoveryWatchdog`: table recovery after a rebalance stopped making progress (seen with
  the profile builder: a worker that kept its partitions re-read their changelogs from the start
  and never received a single changelog event; it would have waited forever, processing nothing).
- :class:`StallWatchdog`: records wait on a partition and none is handled (seen with the
  normaliser: a restarted worker was "ready" and fetched nothing for minutes).
- :func:`guard_app`: wires them into a faust app; :func:`stop_without_commit` ends the process,
  :func:`drain_and_stop` after the producer delivered what it had been handed.

The offset check assumes input topics without offset gaps: neither compacted nor written by
transactional producers (commit markers take offsets). Turn it off for such inputs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NoReturn

from govbus.exceptions import GovbusError

log = logging.getLogger(__name__)

STOPPED_WITHOUT_COMMIT = "stopping the worker without committing"
"""What :func:`stop_without_commit` logs (supervisors and tests look for it)."""


class SkippedOffsetsError(GovbusError):
    """The consumer handed over a partition's messages with offsets missing in between."""


class RecoveryStalledError(GovbusError):
    """Table recovery after a rebalance read nothing for too long while changelog records remained."""


class StreamStalledError(GovbusError):
    """A partition had records waiting and the worker handled none of them for too long."""


class OffsetGuard:
    """Stops the worker when faust skips messages of a partition it consumes.

    faust-streaming 0.15.3 was seen to drop messages after a rebalance: a worker that joined
    got offsets 50 then 52 of an input partition, and the group committed past 51 (faust takes
    missing offsets for compacted or transaction-marker gaps). The topics read here are neither
    compacted nor written by transactional producers (the normaliser's department and dialect
    topics come from idempotent, non-transactional producers), so their offsets have no gaps: a jump
    forward means lost messages. Raising before the later message is acknowledged keeps the
    committed offset at or before the first missing one, so a restarted worker reads it again.
    Going back (a re-delivery after a seek) is allowed.

    ``committed`` gives the offset the group had committed for a partition when it was assigned
    (faust seeks there), or None when unknown: the first message after an assignment must not be
    past it.
    """

    def __init__(self, committed: Callable[[Any], int | None] = lambda tp: None) -> None:
        self._next: dict[Any, int] = {}
        self._committed = committed
        self.waits = 0
        """agents waiting on a dependency (the registry) rather than stalled: no stall verdict meanwhile"""

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Around a deliberate wait (retrying an unreachable registry): the stall check holds off."""
        self.waits += 1
        try:
            yield
        finally:
            self.waits -= 1

    def forget(self, partitions: Iterable[Any]) -> None:
        for tp in partitions:
            self._next.pop(tp, None)

    def check(self, tp: Any, offset: int) -> None:
        expected = self._next.get(tp)
        if expected is None:
            start = self._committed(tp)
            if start is not None and offset > start:
                raise SkippedOffsetsError(f"{tp.topic}[{tp.partition}]: the first offset after the assignment is "
                                          f"{offset} but the group committed {start}; offsets {start}..{offset - 1} "
                                          "were skipped by the consumer")
        elif offset > expected:
            raise SkippedOffsetsError(f"{tp.topic}[{tp.partition}]: got offset {offset} after {expected - 1}; "
                                      f"offsets {expected}..{offset - 1} were skipped by the consumer")
        self._next[tp] = offset + 1

    def next_offset(self, tp: Any) -> int | None:
        """The next offset of ``tp`` to handle: after the last one handled, else where the assignment started."""
        expected = self._next.get(tp)
        return expected if expected is not None else self._committed(tp)


class StallWatchdog:
    """Raises :class:`StreamStalledError` when a partition's waiting records stop being handled.

    Seen with the normaliser (in CI, and with an injected restart): a restarted worker logged
    "Worker ready", had records waiting past its committed offsets, and fetched nothing for minutes,
    without an error. Call :meth:`observe` periodically with the end offsets of the assigned source
    partitions (asked of the broker, not faust's cached high watermarks, which a stuck fetcher
    does not update) and the next offset the worker would handle; a partition whose records wait
    while that offset stays put for ``stall_seconds`` trips it. Offsets handled, not committed,
    count: faust's commits can crawl behind work that is done. Call :meth:`reset` while the worker
    is recovering or rebalancing (nothing is handled then, by design).
    """

    def __init__(self, stall_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._stall_seconds = stall_seconds
        self._clock = clock
        self._since: dict[Any, tuple[int, float]] = {}

    def reset(self) -> None:
        self._since.clear()

    def observe(self, ends: Mapping[Any, int], next_offsets: Mapping[Any, int | None]) -> None:
        now = self._clock()
        for tp in set(self._since) - set(ends):
            del self._since[tp]
        for tp, end in ends.items():
            waiting_from = next_offsets.get(tp)
            if waiting_from is None or end <= waiting_from:  # nothing waiting, or no start known
                self._since.pop(tp, None)
                continue
            since = self._since.get(tp)
            if since is None or since[0] != waiting_from:  # first sighting, or progress
                self._since[tp] = (waiting_from, now)
                continue
            stalled = now - since[1]
            if stalled >= self._stall_seconds:
                raise StreamStalledError(
                    f"{tp.topic}[{tp.partition}]: {end - waiting_from} record(s) from offset {waiting_from} have "
                    f"waited {stalled:.0f} s and none was handled; restarting the worker makes it fetch afresh")


def faust_committed_offsets(consumer: Any) -> Callable[[Any], int | None]:
    """The committed offset faust's consumer sought to for a partition (None: none, or unknown).

    faust keeps it in the private ``_committed_offset`` (set when it seeks an assignment to the
    committed offsets, and on each commit); without that attribute the start check is off.
    """
    def committed(tp: Any) -> int | None:
        offsets: Mapping[Any, int | None] = getattr(consumer, "_committed_offset", {}) or {}
        value = offsets.get(tp)
        return int(value) if value else None

    return committed


class RecoveryWatchdog:
    """Raises :class:`RecoveryStalledError` when recovery's remaining changelog records stop shrinking.

    ``remaining`` returns the changelog records recovery still has to read, or None when no
    recovery is under way. Call :meth:`check` periodically; a long recovery that keeps reading is
    fine however long it takes, only ``stall_seconds`` without progress trips it.
    """

    def __init__(self, remaining: Callable[[], int | None], stall_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._remaining = remaining
        self._stall_seconds = stall_seconds
        self._clock = clock
        self._last: tuple[int, float] | None = None

    def check(self) -> None:
        remaining = self._remaining()
        now = self._clock()
        if not remaining:
            self._last = None
            return
        if self._last is None or remaining < self._last[0]:
            self._last = (remaining, now)
            return
        if remaining > self._last[0]:  # a new recovery (another rebalance) with more to read
            self._last = (remaining, now)
            return
        stalled = now - self._last[1]
        if stalled >= self._stall_seconds:
            raise RecoveryStalledError(f"table recovery read nothing for {stalled:.0f} s with {remaining} changelog "
                                       "record(s) still to read; restarting the worker makes it recover afresh")


def faust_recovery_remaining(app: Any) -> Callable[[], int | None]:
    """What is left of the app's table recovery (None when it is not recovering)."""
    def remaining() -> int | None:
        recovery = app.tables.recovery
        if not recovery.in_recovery:
            return None
        return int(recovery.active_remaining_total())

    return remaining


def stop_without_commit(agent: str, error: BaseException) -> NoReturn:
    """End the process at once (exit code 70) after an unexpected error in ``agent``.

    faust would restart the agent and acknowledge the failed event (``take_events`` does so in a
    ``finally``), so its offset could be committed with nothing written for it. Exiting without a
    commit makes a restarted worker replay from the last commit instead.
    """
    log.critical(f"{STOPPED_WITHOUT_COMMIT}: unexpected error", exc_info=error, extra={"agent": agent})
    logging.shutdown()
    os._exit(70)


async def drain_and_stop(app: Any, agent: str, error: BaseException, timeout: float = 10.0) -> NoReturn:
    """Stop taking events, wait until the producer delivered what it was handed, then :func:`stop_without_commit`.

    For agents that record an event as handled in a table before its output is acknowledged (the
    normaliser's event-id table): an exit at once can lose an output whose record did reach the
    changelog, and the restarted worker would then drop the replayed event as a duplicate. Flow
    control is suspended and the buffered events cleared (as faust does at a rebalance) so that
    nothing new starts; events under way finish; then the producer is flushed. The event that
    failed is not acknowledged (its agent is stopping), so no commit can pass it; faust may
    commit the offsets of events finished meanwhile, after flushing their outputs.
    """
    try:
        app.flow_control.suspend()
        app.flow_control.clear()
        await asyncio.wait_for(_drain(app), timeout)
    except Exception as drain_error:  # stop anyway
        log.error("could not flush the producer before stopping: %r", drain_error)
    stop_without_commit(agent, error)


async def _drain(app: Any) -> None:
    await asyncio.sleep(0.5)  # events other agents are processing finish (each awaits its send)
    await app.producer.flush()


def guard_app(app: Any, stall_seconds: float, offset_guard: OffsetGuard | None,
              source_topics: Iterable[str] = ()) -> None:
    """Stop ``app``'s worker when it stalls; with ``offset_guard``, forget its counts at rebalances.

    - A table recovery without progress for ``stall_seconds`` (:class:`RecoveryWatchdog`).
    - With ``offset_guard`` and ``source_topics``: records of those topics waiting for
      ``stall_seconds`` with none handled (:class:`StallWatchdog`; the agents call
      ``offset_guard.check`` for every event, which is how progress is seen).

    The guard's counts are forgotten on revocation, not on assignment: faust revokes every partition
    at each rebalance (eager protocol) and sends this signal after the revoked work is done, before
    the new assignment is sought to its committed offsets; the assignment signal can come after
    recovery already let the first messages through, and forgetting then would take the second
    message for the first.
    """
    recovery = RecoveryWatchdog(faust_recovery_remaining(app), stall_seconds)
    stall = StallWatchdog(stall_seconds)
    topics = set(source_topics)
    if offset_guard is not None:
        guard = offset_guard

        def forget(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
            guard.forget(args[0] if args else kwargs.get("revoked", ()))
            stall.reset()

        app.on_partitions_revoked.connect(forget)

    async def watch() -> None:
        try:
            recovery.check()
            if offset_guard is not None and topics:
                await _watch_stall(app, stall, offset_guard, topics)
        except Exception as error:  # a stall, or the check itself failing
            stop_without_commit("stall-watchdog", error)

    app.timer(interval=max(1.0, stall_seconds / 6))(watch)


async def _watch_stall(app: Any, stall: StallWatchdog, guard: OffsetGuard, topics: set[str]) -> None:
    if (app.rebalancing or app.tables.recovery.in_recovery or not app.tables.recovery.completed.is_set()
            or guard.waits):
        stall.reset()  # nothing is handled while partitions move, tables recover or the registry is away
        return
    partitions = [tp for tp in app.consumer.assignment() if tp.topic in topics]
    if not partitions:
        stall.reset()
        return
    try:
        ends = await app.consumer.highwaters(*partitions)
    except Exception as error:  # the broker did not answer: no verdict this time
        log.warning("could not read end offsets for the stall check: %r", error)
        return
    if app.rebalancing:  # it started while we asked
        stall.reset()
        return
    stall.observe({tp: int(end) for tp, end in ends.items() if end is not None},
                  {tp: guard.next_offset(tp) for tp in partitions})
