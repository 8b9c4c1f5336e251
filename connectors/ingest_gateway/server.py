"""Run the gateway (``govbus gateway serve`` / ``python -m connectors.ingest_gateway``)."""

from __future__ import annotations

import logging

from aiohttp import web

from connectors.ingest_gateway.app import build_app
from connectors.ingest_gateway.keys import KeyStore
from connectors.ingest_gateway.settings import GatewaySettings
from govbus.logs import configure_logging
from schemas.catalogue import load_catalogue

log = logging.getLogger(__name__)


def serve(settings: GatewaySettings) -> None:
    """Serve until SIGTERM or SIGINT."""

    configure_logging()
    keys = KeyStore.load(settings.gateway_keys_file)
    app = build_app(settings, keys, load_catalogue())
    log.info("gateway listening", extra={"host": settings.gateway_host, "port": settings.gateway_port})
    print(f"govbus ingest gateway ready at http://{settings.gateway_host}:{settings.gateway_port}", flush=True)
    web.run_app(app, host=settings.gateway_host, port=settings.gateway_port, print=None, access_log=None)
