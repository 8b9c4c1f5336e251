"""Starting a registry as a child process (for ``govbus dev up`` and the tests) and stopping it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from govbus.exceptions import StartupTimeoutError

_STOP_GRACE_SECONDS = 10.0


@dataclass
class RegistryProcess:
    """A registry running in its own session; ``stop()`` ends it by PID."""

    pid: int
    url: str
    log_path: Path
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def stop(self) -> None:
        """SIGTERM, wait up to 10 s for a clean exit, then SIGKILL."""
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            self._reap(0)
            return
        if not self._wait(_STOP_GRACE_SECONDS):
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._wait(5.0)

    def kill(self) -> None:
        """SIGKILL at once (simulates a crash)."""
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._wait(5.0)

    def running(self) -> bool:
        if self._process is not None:
            return self._process.poll() is None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def _wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                return True
            time.sleep(0.05)
        return not self.running()

    def _reap(self, timeout: float) -> None:
        if self._process is not None:
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass


def start_registry_process(
    bootstrap: str, port: int, log_path: Path, topic: str | None = None, timeout: float = 60,
    host: str = "127.0.0.1",
) -> RegistryProcess:
    """Start ``python -m schemas.registry`` and return once ``GET /subjects`` answers 200.

    Output goes to ``log_path``. Raises :class:`StartupTimeoutError` with the log's tail (and
    kills the process) if it is not ready within ``timeout`` seconds or exits early.
    """
    command = [sys.executable, "-m", "schemas.registry", "--bootstrap", bootstrap, "--host", host, "--port", str(port)]
    if topic:
        command += ["--topic", topic]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(  # noqa: S603 - argv is built here, never from user text
            command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    registry = RegistryProcess(process.pid, f"http://{host}:{port}", log_path, process)
    try:
        _wait_ready(registry, timeout)
    except StartupTimeoutError:
        registry.kill()
        raise
    return registry


def _wait_ready(registry: RegistryProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if not registry.running():
                raise StartupTimeoutError(f"the registry exited during start-up:\n{_tail(registry.log_path)}")
            try:
                if client.get(f"{registry.url}/subjects").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    raise StartupTimeoutError(
        f"the registry at {registry.url} was not ready within {timeout:.0f} s:\n{_tail(registry.log_path)}"
    )


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"
