"""Middlewares: JSON error bodies for every failure, request metrics, and access control."""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from schemas.registry.access import Action, action_of, allowed, refusal
from schemas.registry.auth import CredentialStore
from schemas.registry.errors import Forbidden, InternalError, RestError
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
            return reply(exc.to_body(), exc.http_status, headers=exc.headers())
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


def access_middleware(credentials: CredentialStore) -> Middleware:
    """Authenticate every request but the public ones, then apply :mod:`schemas.registry.access`.

    It runs inside the error middleware (its 401 and 403 become JSON bodies) and before any
    handler, so a refused request changes nothing. A follower checks too, and forwards the
    caller's Authorization header, so the primary authorises the same principal again.
    """

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        action = action_of(request.method, resource.canonical if resource is not None else None)
        if action is Action.PUBLIC:
            return await handler(request)
        try:
            principal = credentials.principal(request.headers.get("Authorization"))
        except RestError:
            log.info("registry request without valid credentials", extra={
                "method": request.method, "path": request.path})
            raise
        subject = request.match_info.get("subject")
        if not allowed(principal, action, subject):
            log.warning("registry request refused", extra={
                "principal": principal, "method": request.method, "path": request.path})
            raise Forbidden(refusal(principal, action, request.method, request.path, subject))
        response = await handler(request)
        if action in (Action.REGISTER, Action.OPERATE):  # who changed what, for the operators
            log.info("registry write by principal", extra={
                "principal": principal, "method": request.method, "path": request.path, "status": response.status})
        return response

    return check


def _endpoint(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"
