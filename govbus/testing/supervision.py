"""What a test acting as a supervisor needs to know of a stream worker that exited."""

from __future__ import annotations

from pathlib import Path

from streams.guards import STOPPED_WITHOUT_COMMIT


def self_stop_reason(log_path: Path) -> str | None:
    """Why the worker logging to ``log_path`` stopped itself (exit 70, :func:`streams.guards.stop_without_commit`):
    the last error line of its log; None when it did not stop itself."""
    text = log_path.read_text(errors="replace")
    if STOPPED_WITHOUT_COMMIT not in text:
        return None
    errors = [line.strip() for line in text.splitlines() if "Error: " in line]
    return errors[-1][:300] if errors else "unknown reason"
