"""Run the feed: check the items, start the reader thread, serve HTTP until SIGTERM or SIGINT."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from connectors.public_feed.app import FeedContext, build_app
from connectors.public_feed.disclosure import open_items
from connectors.public_feed.metrics import FeedMetrics
from connectors.public_feed.reader import FeedReader
from connectors.public_feed.settings import FeedSettings
from connectors.public_feed.state import FeedState
from schemas.catalogue import load_catalogue

log = logging.getLogger(__name__)


def prepare(settings: FeedSettings, catalogue: Any = None,
            registry: CollectorRegistry | None = None) -> tuple[web.Application, FeedReader]:
    """The application and its (not yet started) reader; :class:`ConfigurationError` for a closed item."""

    items = open_items(settings.feed_items, catalogue or load_catalogue())
    state = FeedState([item.name for item in items])
    metrics = FeedMetrics(registry or CollectorRegistry())
    reader = FeedReader(settings.kafka, settings.registry, items, settings.topic_prefix, state, metrics)
    context = FeedContext(settings, state, {item.name: item.metadata.title for item in items}, metrics,
                          lambda: reader.loaded)
    app = build_app(context)

    async def start_reader(_app: web.Application) -> None:
        reader.start()

    async def stop_reader(_app: web.Application) -> None:
        reader.stop()
        state.close()

    app.on_startup.append(start_reader)
    app.on_cleanup.append(stop_reader)
    return app, reader


def serve(settings: FeedSettings) -> None:
    app, _reader = prepare(settings)
    log.info("public feed listening", extra={"settings": settings.model_dump(), "base_url": settings.base_url})
    print(f"govbus public feed ready at {settings.base_url}/feed", flush=True)
    web.run_app(app, host=settings.feed_host, port=settings.feed_port, print=None, access_log=None)
