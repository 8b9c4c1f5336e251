"""Processes a test session started, written down so that the next session can stop them.

A test run killed hard (SIGKILL, a CI timeout) never reaches its fixtures' teardown: its broker
and registry keep running, re-parented to PID 1, holding memory and ports. Each session writes
the PIDs it starts to a file named after its own PID; the next session, before it starts
anything, stops the processes of every file whose session is gone (only a PID whose command line
still has the recorded marker, so a reused PID is left alone) and deletes their data directories.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from govbus.platform import processes

log = logging.getLogger(__name__)

DEFAULT_DIRECTORY = Path(tempfile.gettempdir()) / "govbus-test-processes"


@dataclass(frozen=True)
class Leftover:
    pid: int
    marker: str
    """a string the process's command line contains (e.g. ``kafka.Kafka``)"""
    data_dir: str | None = None


class ProcessLedger:
    """The file of one test session: what it started (see module docstring)."""

    def __init__(self, directory: Path = DEFAULT_DIRECTORY, owner: int | None = None) -> None:
        self.directory = directory
        self.owner = owner if owner is not None else os.getpid()
        self.path = directory / f"session-{self.owner}.json"

    def add(self, pid: int, marker: str, data_dir: Path | None = None) -> None:
        entries = self._read(self.path)
        entries.append(Leftover(pid, marker, str(data_dir) if data_dir else None))
        self._write(entries)

    def remove(self, pid: int) -> None:
        entries = [e for e in self._read(self.path) if e.pid != pid]
        if entries:
            self._write(entries)
        else:
            self.path.unlink(missing_ok=True)

    def _write(self, entries: list[Leftover]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps([e.__dict__ for e in entries]))
        temporary.replace(self.path)

    @staticmethod
    def _read(path: Path) -> list[Leftover]:
        try:
            return [Leftover(**entry) for entry in json.loads(path.read_text())]
        except (OSError, ValueError, TypeError):
            return []


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def stop_leftovers(directory: Path = DEFAULT_DIRECTORY) -> list[Leftover]:
    """Stop what sessions that are gone left running; return what was stopped."""
    stopped: list[Leftover] = []
    for path in sorted(directory.glob("session-*.json")):
        try:
            owner = int(path.stem.removeprefix("session-"))
        except ValueError:
            continue
        if owner == os.getpid() or processes.is_alive(owner):
            continue
        for entry in ProcessLedger._read(path):
            if processes.is_alive(entry.pid) and entry.marker in command_line(entry.pid):
                processes.stop_process(entry.pid, timeout=15)
                stopped.append(entry)
                log.warning("stopped a process a killed test session left running",
                            extra={"pid": entry.pid, "marker": entry.marker, "session": owner})
            if entry.data_dir:
                shutil.rmtree(entry.data_dir, ignore_errors=True)
        path.unlink(missing_ok=True)
    return stopped
