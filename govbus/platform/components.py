"""Start govbus's own long-running components (processor, pusher) as processes."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from govbus.platform import processes


@dataclass
class Component:
    name: str
    pid: int
    log_path: Path

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` (a process that does not stop in time is killed)."""
        processes.stop_process(self.pid, timeout=timeout)

    def alive(self) -> bool:
        return processes.is_alive(self.pid)


def start_component(name: str, module: str, env: dict[str, str], log_path: Path) -> Component:
    """Run ``python -m module`` with ``env`` added to the environment."""
    pid = processes.start_process([sys.executable, "-m", module], log_path, env=env)
    return Component(name, pid, log_path)
