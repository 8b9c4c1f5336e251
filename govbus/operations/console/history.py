"""The console's samples of the last hour (a ring buffer) and the chart series made from them (pure).

A :class:`Sample` keeps, of one :class:`~govbus.operations.status.BusStatus`, what the charts need: the summed
end offsets of the department and canonical topics, each subscription's lag, and the dead letters and parked
events of the last hour. :class:`History` keeps the samples of the last ``window`` seconds (at most
``window / interval + 1`` of them: a bounded deque).

- **throughput** (events/s) of a kind of topic: the rise of its summed end offsets between two consecutive
  samples divided by the time between them, at the later sample (a fall, when a topic was deleted, counts 0);
  a sample whose offsets were not read breaks the series there;
- **lag** (events) of each subscription at each sample that read it; the subscriptions with the most lag now
  come first;
- **dead letters** and **parked events** in the hour before each sample.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from govbus.operations.status import THROUGHPUT_KINDS, BusStatus


@dataclass(frozen=True)
class Series:
    """One line of a chart: (unix seconds, value) points in time order."""

    name: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Sample:
    at: float
    ends: dict[str, int] | None
    """kind -> summed end offsets of its topics (None: the offsets were not read)"""
    lag: dict[str, int]
    """subscription -> events waiting"""
    dead_letters: int | None
    parked: int | None

    @classmethod
    def of(cls, status: BusStatus) -> Sample:
        read = status.offsets_read
        return cls(at=status.checked_at.timestamp(),
                   ends={kind: status.end_offsets(kind) for kind in THROUGHPUT_KINDS} if read else None,
                   lag={row.name: row.lag_events for row in status.subscriptions},
                   dead_letters=status.dead_letters_last_hour if read else None,
                   parked=status.parked_last_hour if read else None)


class History:
    """The samples of the last ``window`` seconds, taken every ``interval`` seconds."""

    def __init__(self, window: float, interval: float) -> None:
        self._window = window
        self._samples: deque[Sample] = deque(maxlen=math.ceil(window / interval) + 1)

    def add(self, sample: Sample) -> None:
        self._samples.append(sample)
        while self._samples and self._samples[0].at < sample.at - self._window:
            self._samples.popleft()

    def samples(self) -> list[Sample]:
        return list(self._samples)


def throughput(samples: Sequence[Sample], kind: str) -> Series:
    """Events/s written to the topics of ``kind`` between consecutive samples."""
    points = []
    for before, after in pairwise(samples):
        if before.ends is None or after.ends is None or after.at <= before.at:
            continue
        rise = max(0, after.ends.get(kind, 0) - before.ends.get(kind, 0))
        points.append((after.at, rise / (after.at - before.at)))
    return Series(kind, tuple(points))


def lag(samples: Sequence[Sample], limit: int = 8) -> list[Series]:
    """Each subscription's lag (the ``limit`` with the most lag at the last sample that read them)."""
    names: dict[str, int] = {}
    for sample in samples:
        names |= sample.lag
    ranked = sorted(names, key=lambda name: (-names[name], name))[:limit]
    return [Series(name, tuple((s.at, float(s.lag[name])) for s in samples if name in s.lag)) for name in ranked]


def dead_letters(samples: Sequence[Sample]) -> list[Series]:
    """Dead letters and parked events in the hour before each sample."""
    return [Series("dead letters", tuple((s.at, float(s.dead_letters)) for s in samples if s.dead_letters is not None)),
            Series("parked", tuple((s.at, float(s.parked)) for s in samples if s.parked is not None))]
