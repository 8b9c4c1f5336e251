"""The timestamp of the record at an offset, found without reading it: ListOffsets by timestamp, bisected.

The operator may describe topics but not read them (their records hold personal data), and ListOffsets
needs DESCRIBE only. Asked for a time ``t``, it answers the first offset whose record's timestamp is at
or after ``t``, with that record's timestamp. So for a target offset ``c``:

1. ask ``t = 0``: the partition's first record. If that is ``c`` (or after it: retention removed ``c``), its
   timestamp is the answer; else it is a lower bound ``lo`` of ``c``'s timestamp;
2. ``hi`` starts just after now: no record after ``c`` can be found at or after it (a clock far in the future
   aside, which ends the search at now: an age of 0);
3. ask a time between them, in turn the middle and the time interpolated from the nearest records found on
   either side (offsets grow about evenly with time, so this usually lands on ``c`` in a few rounds; the
   middle in between keeps the worst case to twice a bisection's rounds). An answer at ``c`` gives its
   timestamp exactly; one before ``c`` moves ``lo`` up to the timestamp found (at least the time asked); one
   after ``c``, or none, moves ``hi`` down to the time asked;
4. stop when ``hi - lo`` is within the precision (1 s, or 0.1% of the shortest age still possible): ``lo`` is
   the answer, so an age is never under-stated and over-stated by at most that.

This assumes timestamps that grow with offsets, which holds for broker-stamped topics and within the
precision for producers' clocks; a record stamped out of order gives an age bounded by its neighbours'.
A transaction marker is a record here too: a group stopped just before a final marker has "waited" since
the transaction was committed. Each round asks every unfinished search at once (:mod:`govbus.operations.offsets`),
so a refresh takes about ``log2(span / precision)`` round trips however many partitions lag.
"""

from __future__ import annotations

PRECISION_MS = 1000
RELATIVE_PRECISION = 0.001
MAX_ROUNDS = 64


class AgeSearch:
    """Looks for the timestamp (ms) of the record at ``target``: :meth:`probe`, :meth:`answer`, until
    :attr:`done`; then :attr:`found`."""

    def __init__(self, target: int, now_ms: int) -> None:
        self.target = target
        self._now_ms = now_ms
        self._lo: tuple[int, int] | None = None
        """(a timestamp at or before the target's, the offset of a record stamped then, before the target)"""
        self._hi = now_ms + 1
        self._after: tuple[int, int] | None = None
        """(offset, timestamp) of the nearest record found after the target"""
        self._exact: int | None = None
        self._asked: int | None = None
        self.done = False
        self.rounds = 0

    @property
    def found(self) -> int | None:
        """The timestamp found (ms), exact or a lower bound within the precision; None when there is no record."""
        if self._exact is not None:
            return self._exact
        return None if self._lo is None else self._lo[0]

    def probe(self) -> int:
        """The time to ask about next."""
        assert not self.done, "the search is over"
        if self._lo is None:
            self._asked = 0
        else:
            lo = self._lo[0]
            guess = self._interpolated() if self.rounds % 2 else None
            self._asked = guess if guess is not None and lo < guess < self._hi else (lo + self._hi) // 2
        return self._asked

    def _interpolated(self) -> int | None:
        """The target's time on the line through the nearest records found before and after it."""
        if self._lo is None or self._after is None:
            return None
        (lo_time, lo_offset), (after_offset, after_time) = self._lo, self._after
        share = (self.target - lo_offset) / (after_offset - lo_offset)
        return lo_time + round(share * (after_time - lo_time))

    def answer(self, offset: int, timestamp: int) -> None:
        """What ListOffsets answered for :meth:`probe`'s time: the offset and timestamp it found (offset -1:
        no record at or after that time)."""
        asked = self._asked
        assert asked is not None, "answer() follows probe()"
        self.rounds += 1
        if self._lo is None:
            self._first(offset, timestamp)
        elif offset == self.target:
            self._finish(timestamp)
        elif offset < 0 or offset > self.target:
            self._hi = asked
            if offset > self.target and (self._after is None or offset < self._after[0]):
                self._after = (offset, timestamp)
        else:  # a record before the target, stamped at or after the time asked
            self._lo = (max(asked, min(timestamp, self._hi - 1)), offset)
        if not self.done and (self._lo is None or self._narrow() or self.rounds >= MAX_ROUNDS):
            self.done = True

    def _first(self, offset: int, timestamp: int) -> None:
        if offset < 0:  # no record at all
            self.done = True
        elif offset >= self.target:
            self._finish(timestamp)
        else:
            self._lo = (min(timestamp, self._now_ms), offset)

    def _finish(self, timestamp: int) -> None:
        self._exact = timestamp
        self.done = True

    def _narrow(self) -> bool:
        assert self._lo is not None
        shortest_age = max(0, self._now_ms - self._hi)
        return self._hi - self._lo[0] <= max(PRECISION_MS, int(shortest_age * RELATIVE_PRECISION))
