"""Run one faust app as a worker process: /metrics from its own registry, then the faust worker."""

from __future__ import annotations

from collections.abc import Callable

import faust
from prometheus_client import CollectorRegistry, start_http_server


def run_faust_worker(build: Callable[[CollectorRegistry], faust.App], metrics_port: int, log_level: str) -> None:
    """Build the app on a fresh metrics registry, serve it on ``metrics_port`` (0: not at all),
    then process until SIGTERM (faust's worker handles the signals)."""
    collector = CollectorRegistry()
    app = build(collector)
    if metrics_port:
        start_http_server(metrics_port, addr="127.0.0.1", registry=collector)
    faust.Worker(app, loglevel=log_level, quiet=True).execute_from_commandline()
