"""The HTTP ingest gateway as a process for a test: started on a free 127.0.0.1 port, waited for until
``/healthz`` answers, stopped by PID."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from govbus.platform import processes


@contextmanager
def running_gateway(env: Mapping[str, str], log: Path) -> Iterator[str]:
    """``python -m connectors.ingest_gateway`` with ``env`` (a GOVBUS_GATEWAY_PORT is added); yields its URL."""
    port = processes.free_port()
    pid = processes.start_process([sys.executable, "-m", "connectors.ingest_gateway"], log,
                                  env={**env, "GOVBUS_GATEWAY_PORT": str(port)})
    url = f"http://127.0.0.1:{port}"
    try:
        processes.wait_until(lambda: _healthy(url), 60, "ingest gateway", alive=lambda: processes.is_alive(pid),
                             log_path=log)
        yield url
    finally:
        processes.stop_process(pid)
    assert not processes.is_alive(pid)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
