"""How long a group has not moved while events waited for it (pure; the exporter keeps one tracker).

Kafka keeps no time of a commit, so movement is seen from outside: a group has moved when its committed
offsets differ from those of the previous refresh. Its idle time is the time since it was last seen to move,
but never more than the oldest waiting event's age (events cannot have waited longer than that), and 0 when
nothing waits. A group seen for the first time has not been seen to move: its idle time is that age, the
longest it can be, so a subscription stopped for days shows so at the exporter's first refresh (a group that
is moving shows 0 from the next refresh on).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from govbus.operations.lag import Position


@dataclass
class _Seen:
    offsets: dict[Position, int]
    moved_at: float | None


@dataclass
class IdleTracker:
    """Idle seconds per name (a subscription), from the committed offsets seen at each refresh."""

    _seen: dict[str, _Seen] = field(default_factory=dict)

    def idle(self, name: str, committed: Mapping[Position, int], waiting_seconds: float, now: float) -> float:
        """Seconds ``name``'s group has not moved while events waited; ``waiting_seconds`` is how long its oldest
        waiting event has waited (0: caught up)."""
        offsets = dict(committed)
        seen = self._seen.get(name)
        if seen is None:
            seen = self._seen[name] = _Seen(offsets, None)
        elif seen.offsets != offsets:
            seen.offsets, seen.moved_at = offsets, now
        if waiting_seconds <= 0:
            return 0.0
        if seen.moved_at is None:
            return waiting_seconds
        return max(0.0, min(now - seen.moved_at, waiting_seconds))

    def keep_only(self, names: set[str]) -> None:
        """Forget the names no longer there (a removed subscription)."""
        for gone in set(self._seen) - names:
            del self._seen[gone]
