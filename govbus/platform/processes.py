"""Start, watch and stop background processes by PID; wait for readiness; check ports."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from govbus.exceptions import PortInUseError, StartupTimeoutError
from govbus.ports import free_port as free_port
from govbus.ports import port_is_free as port_is_free


def require_free_port(port: int, purpose: str, host: str = "127.0.0.1") -> None:
    """Raise :class:`PortInUseError` naming the port and its purpose when it is taken."""
    if not port_is_free(port, host):
        raise PortInUseError(
            f"port {host}:{port} (needed for {purpose}) is already in use; stop whatever "
            f"listens there (`ss -ltnp 'sport = :{port}'` shows it) or choose another port"
        )


def start_process(argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None) -> int:
    """Start ``argv`` in its own session with stdout and stderr appended to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(  # noqa: S603 - argv is built by govbus, never from user text
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    return process.pid


def is_alive(pid: int) -> bool:
    """True while a process with ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def stop_process(pid: int, timeout: float = 15.0) -> bool:
    """SIGTERM ``pid`` and its session, wait up to ``timeout`` s, then SIGKILL. True if it ran."""
    if not is_alive(pid):
        _reap(pid)
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not is_alive(pid):
            return True
        time.sleep(0.1)
    _signal_group(pid, signal.SIGKILL)
    for _ in range(50):
        _reap(pid)
        if not is_alive(pid):
            break
        time.sleep(0.1)
    return True


def kill_process(pid: int, timeout: float = 5.0) -> None:
    """SIGKILL ``pid`` and its session at once (a crash: no shutdown, no flush) and wait until it is gone."""
    _signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not is_alive(pid):
            return
        time.sleep(0.05)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def wait_until(
    ready: Callable[[], bool],
    timeout: float,
    what: str,
    alive: Callable[[], bool] | None = None,
    log_path: Path | None = None,
) -> float:
    """Poll ``ready`` until it is true; return the seconds waited.

    Raises :class:`StartupTimeoutError` (with the tail of ``log_path``) when the deadline
    passes or ``alive`` says the process has exited.
    """
    started = time.monotonic()
    while True:
        if ready():
            return time.monotonic() - started
        if alive is not None and not alive():
            raise StartupTimeoutError(f"{what} exited during start-up{_log_tail(log_path)}")
        if time.monotonic() - started > timeout:
            raise StartupTimeoutError(
                f"{what} was not ready after {timeout:.0f} s{_log_tail(log_path)}"
            )
        time.sleep(0.2)


def _log_tail(log_path: Path | None, lines: int = 15) -> str:
    if log_path is None or not log_path.exists():
        return ""
    tail = log_path.read_text(errors="replace").splitlines()[-lines:]
    return f"; last lines of {log_path}:\n" + "\n".join(tail)
