"""Run the profile builder: create its topics, serve /metrics, run the faust worker until stopped."""

from __future__ import annotations

import logging

from govbus.logs import configure_logging
from streams.profiles.app import build_app
from streams.profiles.metrics import ProfileMetrics
from streams.profiles.topology import ProfileSettings, ensure_profile_topics
from streams.worker import run_faust_worker

log = logging.getLogger(__name__)


def run_worker(settings: ProfileSettings) -> None:
    """Create the missing topics (refusing wrong partition counts), then process until SIGTERM."""
    configure_logging(settings.log_level)
    specs = ensure_profile_topics(settings)
    log.info("profile topics ready", extra={"topics": [s.name for s in specs], "app_id": settings.profiles_app_id})
    run_faust_worker(lambda collector: build_app(settings, ProfileMetrics(collector)),
                     settings.profiles_metrics_port, settings.log_level)
