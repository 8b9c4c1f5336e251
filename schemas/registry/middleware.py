"""Middlewares: trailing slashes, JSON error bodies for every failure, request metrics, and access control."""

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


def trailing_slash_middleware() -> Middleware:
    """Answer ``/config/`` as ``/config``, and so every route with a trailing slash, as Confluent's registry does.

    Other registry clients call some routes with a trailing slash (python-schema-registry-client's global
    compatibility calls ``GET /config/``). aiohttp's ``normalize_path_middleware`` would answer them with a
    redirect, which clients need not follow (httpx does not by default, and a POST or PUT body may be dropped).
    So a path no route matches, that ends with ``/``, is handled again as if it had none: the whole application
    (the other middlewares too: metrics, errors, access control) sees the route without the slash, so the request
    is counted, authorised and answered as that route. It runs outermost; a path that still matches nothing
    keeps its 404.
    """

    @web.middleware
    async def without_trailing_slash(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.rel_url.raw_path  # still percent-encoded: a subject's %2F stays part of the subject
        if request.match_info.http_exception is None or len(path) < 2 or not path.endswith("/"):
            return await handler(request)
        again = request.clone(rel_url=request.rel_url.with_path(path.rstrip("/") or "/", encoded=True, keep_query=True))
        # the application's own dispatch (route look-up, then its middlewares): aiohttp has no public way to
        # route a rewritten request, and a redirect is what the clients above do not follow
        return await request.app._handle(again)

    return without_trailing_slash


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
            kept = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None  # RFC 9110: a 405 has it
            return reply({"error_code": exc.status, "message": message}, exc.status, headers=kept)
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
