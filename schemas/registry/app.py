"""Building the aiohttp application of one registry instance."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Middleware

from govbus.openapi import operation, serve_document
from schemas.registry import openapi
from schemas.registry.auth import CredentialStore
from schemas.registry.forward import Forwarder
from schemas.registry.middleware import (
    access_middleware,
    error_middleware,
    metrics_middleware,
    trailing_slash_middleware,
)
from schemas.registry.routes import Handlers, add_routes
from schemas.registry.service import RegistryService

MAX_BODY_BYTES = 4 * 1024 * 1024


def build_app(
    service: RegistryService, forwarder: Forwarder, credentials: CredentialStore | None = None
) -> web.Application:
    """The REST API, ``/metrics``, ``/openapi.json``, and the middlewares (trailing slashes outermost: every route
    answers with or without one; then metrics, then JSON errors, then access control when ``credentials`` are
    given: without them anyone may do anything)."""
    metrics = service.metrics
    middlewares: list[Middleware] = [trailing_slash_middleware(), metrics_middleware(metrics), error_middleware()]
    if credentials is not None:
        middlewares.append(access_middleware(credentials))
    app = web.Application(middlewares=middlewares, client_max_size=MAX_BODY_BYTES)
    add_routes(app, Handlers(service, forwarder))

    @operation(openapi.METRICS)
    async def render_metrics(_request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": metrics.content_type})

    app.router.add_get("/metrics", render_metrics)
    serve_document(app, openapi.INFO)

    async def close_forwarder(_app: web.Application) -> None:
        await forwarder.close()

    app.on_cleanup.append(close_forwarder)
    return app
