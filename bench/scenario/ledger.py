"""The ledger: every record a department tried to publish, and what it was told (FORMAT.md, ``ledger.jsonl``)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import IO


class Ledger:
    """A JSON-lines file appended by several publishing threads; each line is written whole and flushed."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = open(path, "a", encoding="utf-8")
        self._lock = threading.Lock()
        self.accepted = 0
        self.refused = 0

    def record(self, *, path: str, department: str, item: str, topic: str, event_id: str | None, key: str | None,
               accepted: bool, reason: str | None = None) -> None:
        line = json.dumps({"t": time.time(), "path": path, "department": department, "item": item, "topic": topic,
                           "event_id": event_id, "key": key, "accepted": accepted, "reason": reason},
                          ensure_ascii=False)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
            if accepted:
                self.accepted += 1
            else:
                self.refused += 1

    def close(self) -> None:
        with self._lock:
            self._file.close()
