"""Dead letters: the original bytes, untouched, with the reason and origin in headers.

Headers (all UTF-8 strings): ``govbus.dlq.reason``, ``govbus.dlq.field``, ``govbus.dlq.rule``,
``govbus.dlq.stage`` (decode / validate), ``govbus.dlq.source.topic``,
``govbus.dlq.source.partition``, ``govbus.dlq.source.offset``, ``govbus.dlq.failed_at``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

_PREFIX = "govbus.dlq."


@dataclass(frozen=True)
class DeadLetter:
    reason: str
    stage: str
    source_topic: str
    source_partition: int
    source_offset: int
    field: str = ""
    rule: str = ""
    failed_at: str = dataclasses.field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())

    def headers(self) -> list[tuple[str, bytes]]:
        values = {
            "reason": self.reason, "field": self.field, "rule": self.rule, "stage": self.stage,
            "source.topic": self.source_topic, "source.partition": str(self.source_partition),
            "source.offset": str(self.source_offset), "failed_at": self.failed_at,
        }
        return [(_PREFIX + name, value.encode()) for name, value in values.items()]

    @classmethod
    def from_headers(cls, headers: Any) -> DeadLetter:
        """Read a dead letter back from a message's headers (list of pairs or mapping)."""
        pairs = headers.items() if isinstance(headers, dict) else (headers or [])
        found = {k[len(_PREFIX):]: (v.decode() if isinstance(v, bytes) else str(v))
                 for k, v in pairs if k.startswith(_PREFIX)}
        return cls(
            reason=found["reason"], stage=found["stage"], field=found.get("field", ""),
            rule=found.get("rule", ""), source_topic=found["source.topic"],
            source_partition=int(found["source.partition"]), source_offset=int(found["source.offset"]),
            failed_at=found.get("failed_at", ""),
        )
