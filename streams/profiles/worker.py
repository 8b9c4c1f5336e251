"""Run the profile builder: create its topics, serve /metrics, process until SIGTERM."""

from __future__ import annotations

import logging

from govbus.logs import configure_logging
from streams.engine import run_worker as run_engine_worker
from streams.profiles.app import build_app
from streams.profiles.topology import ProfileSettings, ensure_profile_topics

log = logging.getLogger(__name__)


def run_worker(settings: ProfileSettings) -> None:
    """Create the missing topics (refusing wrong partition counts), then process until SIGTERM."""
    configure_logging(settings.log_level)
    specs = ensure_profile_topics(settings)
    log.info("profile topics ready", extra={"topics": [s.name for s in specs], "app_id": settings.profiles_app_id})
    run_engine_worker(lambda collector: build_app(settings, collector), settings, settings.profiles_metrics_port)
