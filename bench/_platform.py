"""Bring up what a benchmark needs: the broker and registry from the environment, or local ones."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from govbus.platform.processes import free_port
from govbus.testing.broker import session_broker
from schemas.registry.launcher import start_registry_process


@contextmanager
def platform() -> Iterator[tuple[str, str]]:
    """(bootstrap, registry URL); whatever is started here is stopped by PID on exit."""
    with session_broker() as bootstrap:
        given = os.environ.get("GOVBUS_REGISTRY_URL")
        if given:
            yield bootstrap, given
            return
        log = Path(tempfile.mkdtemp(prefix="govbus-bench-")) / "registry.log"
        registry = start_registry_process(bootstrap, free_port(), log, topic=f"_bench_schemas_{uuid.uuid4().hex[:6]}")
        try:
            yield bootstrap, registry.url
        finally:
            registry.stop()
