"""The run's processes by name: started, SIGKILLed and restarted by PID, each with its own log.

A restarted process gets the same environment (so the same consumer group, transactional id prefix, ports and
state directory) and a new PID, which the sampler is told about.

Like docker-compose's ``restart: on-failure`` (which every govbus service has there), a supervisor thread starts
again a process that exited by itself (a stream worker whose broker vanished under an open transaction does),
after 1, 2, 4 ... at most 10 s; each such restart is a line of ``restarts.jsonl``. A process a fault killed is
left down until the fault restores it.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from govbus.exceptions import PlatformError
from govbus.platform import processes


@dataclass
class ProcessSpec:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    ready: Callable[[], bool] | None = None
    """answers True once the process serves (None: started is ready)"""
    pid: int | None = None
    held_down: bool = False
    """killed by a fault: the supervisor leaves it down until the fault restores it"""
    exits: int = 0


def module_argv(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


@dataclass
class Fleet:
    """Every long-running process of a run; :meth:`stop_all` stops them by PID (newest first)."""

    on_pid: Callable[[str, int], None] = lambda _name, _pid: None
    specs: dict[str, ProcessSpec] = field(default_factory=dict)
    restarts_log: Path | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _supervisor: threading.Thread | None = None

    def supervise(self, restarts_log: Path) -> None:
        """Start the supervisor (see the module docstring)."""
        self.restarts_log = restarts_log
        self._supervisor = threading.Thread(target=self._watch, name="fleet-supervisor", daemon=True)
        self._supervisor.start()

    def _watch(self) -> None:
        while not self._stopping.wait(1.0):
            for name, spec in list(self.specs.items()):
                with self._lock:
                    exited = spec.pid is not None and not spec.held_down and not processes.is_alive(spec.pid)
                if exited and not self._stopping.is_set():
                    self._restart_exited(name, spec)

    def _restart_exited(self, name: str, spec: ProcessSpec) -> None:
        spec.exits += 1
        time.sleep(min(10.0, 2.0 ** (spec.exits - 1)))
        with self._lock:
            if self._stopping.is_set() or spec.held_down or (spec.pid is not None and processes.is_alive(spec.pid)):
                return
            old = spec.pid
            try:
                self.start(name)
            except PlatformError as error:  # tried again at the next round
                self._log({"t": time.time(), "process": name, "old_pid": old, "error": str(error)})
                return
        self._log({"t": time.time(), "process": name, "old_pid": old, "pid": spec.pid, "exits": spec.exits})

    def _log(self, line: dict[str, object]) -> None:
        if self.restarts_log is not None:
            with open(self.restarts_log, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(line) + "\n")

    def add(self, spec: ProcessSpec, start: bool = True, timeout: float = 90.0) -> ProcessSpec:
        if spec.name in self.specs:
            raise PlatformError(f"two processes named {spec.name} in one run")
        self.specs[spec.name] = spec
        if start:
            self.start(spec.name, timeout)
        return spec

    def start(self, name: str, timeout: float = 90.0) -> int:
        """Start ``name`` (nothing when it runs); its PID."""
        spec = self.specs[name]
        with self._lock:
            spec.held_down = False
            if spec.pid is not None and processes.is_alive(spec.pid):
                return spec.pid
            spec.pid = processes.start_process(spec.argv, spec.log_path, env=spec.env)
        self.on_pid(name, spec.pid)
        if spec.ready is not None:
            pid = spec.pid
            processes.wait_until(spec.ready, timeout, name, alive=lambda: processes.is_alive(pid),
                                 log_path=spec.log_path)
        return spec.pid

    def kill(self, name: str) -> None:
        """SIGKILL, as a crash: no shutdown hook, no flush, no commit; held down until :meth:`start`."""
        spec = self.specs[name]
        with self._lock:
            spec.held_down = True
            if spec.pid is not None:
                processes.kill_process(spec.pid)

    def restart(self, name: str, down_s: float = 0.0, timeout: float = 90.0) -> int:
        self.kill(name)
        time.sleep(down_s)
        return self.start(name, timeout)

    def alive(self, name: str) -> bool:
        pid = self.specs[name].pid
        return pid is not None and processes.is_alive(pid)

    def dead(self) -> list[str]:
        """The processes that should run and do not."""
        return [name for name in self.specs if not self.alive(name)]

    def pids(self) -> dict[str, int]:
        return {name: spec.pid for name, spec in self.specs.items() if spec.pid is not None}

    def stop(self, name: str, timeout: float = 20.0) -> None:
        spec = self.specs[name]
        if spec.pid is not None:
            processes.stop_process(spec.pid, timeout=timeout)

    def stop_all(self, timeout: float = 20.0) -> None:
        self._stopping.set()
        with self._lock:
            pass  # a restart under way finishes first
        for name in reversed(list(self.specs)):
            self.stop(name, timeout)
