"""Middlewares: JSON error bodies for every failure, and request metrics."""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from schemas.registry.errors import InternalError, RestError
from schemas.registry.metrics import RegistryMetrics
from schemas.registry.routes import reply

log = logging.getLogger(__name__)


def error_middleware() -> Middleware:
    """Turn every exception into Confluent's ``{"error_code", "message"}`` JSON body.

    :class:`RestError` keeps its status and code; aiohttp's HTTP errors (unknown route, wrong
    method, body too large) keep their status; anything else is a bug, logged with its
    traceback and answered with a 500 that says so.
    """

    @web.middleware
    async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except RestError as exc:
            return reply(exc.to_body(), exc.http_status)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            message = f"HTTP {exc.status} {exc.reason}: {request.method} {request.path}"
            return reply({"error_code": exc.status, "message": message}, exc.status)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("unexpected error", extra={"method": request.method, "path": request.path})
            error = InternalError(f"Internal server error ({type(exc).__name__}); see the registry's log.")
            return reply(error.to_body(), error.http_status)

    return json_errors


def metrics_middleware(metrics: RegistryMetrics) -> Middleware:
    """Count each request by method, route template and status, and time it."""

    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            metrics.observe_request(request.method, _endpoint(request), status, time.perf_counter() - started)

    return count


def _endpoint(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"
