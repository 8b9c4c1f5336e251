"""Run the profile builder: create its topics, serve /metrics, run the faust worker until stopped."""

from __future__ import annotations

import logging

import faust
from prometheus_client import CollectorRegistry, start_http_server

from govbus.logs import configure_logging
from streams.profiles.app import build_app
from streams.profiles.metrics import ProfileMetrics
from streams.profiles.topology import ProfileSettings, ensure_profile_topics

log = logging.getLogger(__name__)


def run_worker(settings: ProfileSettings) -> None:
    """Create the missing topics (refusing wrong partition counts), then process until SIGTERM."""
    configure_logging(settings.log_level)
    specs = ensure_profile_topics(settings)
    log.info("profile topics ready", extra={"topics": [s.name for s in specs], "app_id": settings.profiles_app_id})
    collector = CollectorRegistry()
    metrics = ProfileMetrics(collector)
    if settings.profiles_metrics_port:
        start_http_server(settings.profiles_metrics_port, addr="127.0.0.1", registry=collector)
    app = build_app(settings, metrics)
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True)
    worker.execute_from_commandline()
