"""Starting a registry as a child process (for ``govbus dev up`` and the tests) and stopping it."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from govbus.exceptions import StartupTimeoutError
from govbus.platform.processes import is_alive, kill_process, start_process, stop_process, wait_until

_STOP_GRACE_SECONDS = 10.0


@dataclass
class RegistryProcess:
    """A registry running in its own session; ``stop()`` ends it by PID."""

    pid: int
    url: str
    log_path: Path

    def stop(self) -> None:
        """SIGTERM, wait up to 10 s for a clean exit, then SIGKILL."""
        stop_process(self.pid, timeout=_STOP_GRACE_SECONDS)

    def kill(self) -> None:
        """SIGKILL at once (simulates a crash)."""
        kill_process(self.pid)

    def running(self) -> bool:
        return is_alive(self.pid)


def start_registry_process(
    bootstrap: str, port: int, log_path: Path, topic: str | None = None, timeout: float = 60,
    host: str = "127.0.0.1", kafka_env: Mapping[str, str] | None = None,
    credentials_file: Path | None = None,
) -> RegistryProcess:
    """Start ``python -m schemas.registry`` and return once ``GET /`` answers 200 (it serves HTTP only
    once it has replayed its log, and ``/`` needs no credentials).

    ``kafka_env`` (GOVBUS_KAFKA__* variables) carries the broker's protocol and credentials.
    ``credentials_file`` (the platform's 0600 JSON file of principals) turns HTTP Basic authentication on;
    without it the registry is open to anyone. Output goes to ``log_path``. Raises
    :class:`StartupTimeoutError` with the log's tail (and kills the process) if it is not ready within
    ``timeout`` seconds or exits early.
    """
    command = [sys.executable, "-m", "schemas.registry", "--bootstrap", bootstrap, "--host", host, "--port", str(port)]
    if topic:
        command += ["--topic", topic]
    env = dict(kafka_env or {})
    if credentials_file is not None:
        env["GOVBUS_REGISTRY_CREDENTIALS_FILE"] = str(credentials_file)
    registry = RegistryProcess(start_process(command, log_path, env=env), f"http://{host}:{port}", log_path)
    try:
        wait_until(lambda: registry_answers(registry.url), timeout, f"the registry at {registry.url}",
                   alive=registry.running, log_path=log_path)
    except StartupTimeoutError:
        registry.kill()
        raise
    return registry


def registry_answers(url: str) -> bool:
    """Whether the registry at ``url`` serves HTTP (``GET /`` needs no credentials)."""
    try:
        return httpx.get(f"{url}/", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False
