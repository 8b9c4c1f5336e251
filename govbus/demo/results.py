"""What each publishing path of the demo sent and what became of it (shared by the paths and the summary)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PathResult:
    """What one department sent through one path, and what became of it."""

    department: str
    path: str
    item: str
    sent: int = 0
    accepted: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    note: str = ""

    def reject(self, field_name: str, rule: str, reason: str) -> None:
        key = f"{field_name}: {rule}" if field_name else rule
        self.reasons[key] += 1
        self.examples.setdefault(key, reason)

    @property
    def rejected(self) -> int:
        return sum(self.reasons.values())


def jsonable(record: dict[str, Any]) -> dict[str, Any]:
    """A record as a department's system would send it in JSON: dates and times as ISO text."""
    def convert(value: Any) -> Any:
        if isinstance(value, dt.date | dt.datetime):
            return value.isoformat()
        if isinstance(value, list):
            return [convert(v) for v in value]
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        return value

    return {k: convert(v) for k, v in record.items()}
