"""The feed's aiohttp application: ``/feed`` (JSON pages), ``/feed.atom`` (Atom 1.0), ``/healthz``, ``/metrics``,
``/openapi.json`` (the OpenAPI document, :mod:`connectors.public_feed.openapi`).

Every error is JSON (``{"error": ..., "message": ...}``): a bad query parameter is a 400 naming the
parameter and what to fix, an unknown path a 404, a page past the last one a 404 with the last
page's link; bad input never becomes a 500.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from connectors.public_feed import openapi
from connectors.public_feed.bodies import FeedError, FeedHealth
from connectors.public_feed.disclosure import iso
from connectors.public_feed.metrics import FeedMetrics
from connectors.public_feed.render import BadParameter, Query, atom_feed, page_json, page_url, parse_query
from connectors.public_feed.settings import FeedSettings
from connectors.public_feed.state import FeedState, Page
from govbus.openapi import operation, serve_document

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    """A refusal as :class:`FeedError` JSON (``extra``: its optional fields)."""
    body = FeedError(error=code, message=message, **extra)
    return web.json_response(body.model_dump(exclude_none=True), status=status, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class FeedContext:
    """What the handlers need: settings, state, the served items' titles, metrics and the reader's status."""

    settings: FeedSettings
    state: FeedState
    titles: dict[str, Any]
    metrics: FeedMetrics
    loaded: Callable[[], bool]
    started_at: str = field(default_factory=lambda: iso(dt.datetime.now(dt.UTC)))

    @property
    def served(self) -> list[str]:
        return list(self.titles)


CONTEXT = web.AppKey("context", FeedContext)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    context = request.app[CONTEXT]
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
    try:
        response = await handler(request)
    except BadParameter as bad:
        response = error(400, "bad_parameter", str(bad), parameter=bad.parameter, **bad.details)
    except web.HTTPNotFound:
        response = error(404, "not_found", f"no such path {request.path!r}; try /feed, /feed.atom or /healthz")
    except web.HTTPMethodNotAllowed as refused:
        response = error(405, "method_not_allowed", f"{request.method} is not allowed here; use "
                         f"{', '.join(sorted(refused.allowed_methods))}")
        response.headers["Allow"] = refused.headers["Allow"]  # RFC 9110: a 405 names the methods allowed
    except web.HTTPException as http:
        response = error(http.status, http.reason.lower().replace(" ", "_"), http.text or http.reason)
    except Exception:
        log.exception("unexpected failure", extra={"path": request.path})
        response = error(500, "internal_error", "the feed failed unexpectedly; try again later")
    context.metrics.requests.labels(route=route, status=str(response.status)).inc()
    return response


def _query(request: web.Request) -> Query:
    context = request.app[CONTEXT]
    repeated = [name for name in set(request.query) if len(request.query.getall(name)) > 1]
    return parse_query(dict(request.query), sorted(repeated), context.served, context.settings.feed_per_page,
                       context.settings.feed_max_per_page)


def _page(request: web.Request, path: str) -> tuple[Query, Page] | web.Response:
    context = request.app[CONTEXT]
    query = _query(request)
    page = context.state.page(query.item, query.page, query.per_page)
    if query.page > page.pages:
        return error(404, "no_such_page", f"page {query.page} is past the last page, {page.pages}",
                     last=page_url(context.settings.base_url, path, query, page.pages))
    return query, page


@operation(openapi.FEED)
async def feed_json(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    found = _page(request, "/feed")
    if isinstance(found, web.Response):
        return found
    query, page = found
    body = page_json(context.settings.base_url, query, page, context.titles).model_dump(by_alias=True)
    return web.json_response(body, dumps=_dumps, headers={"Cache-Control": "no-cache"})


@operation(openapi.FEED_ATOM)
async def feed_atom(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    found = _page(request, "/feed.atom")
    if isinstance(found, web.Response):
        return found
    query, page = found
    body = atom_feed(context.settings.base_url, context.settings.feed_title, query, page, context.titles,
                     context.started_at)
    return web.Response(body=body, content_type="application/atom+xml", charset="utf-8",
                        headers={"Cache-Control": "no-cache"})


@operation(openapi.HEALTH)
async def healthz(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    health = FeedHealth(loaded=context.loaded(), entries=context.state.count(),
                        items={name: context.state.count(name) for name in context.served})
    return web.json_response(health.model_dump(), dumps=_dumps)


@operation(openapi.METRICS)
async def metrics_endpoint(request: web.Request) -> web.Response:
    body = generate_latest(request.app[CONTEXT].metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def build_app(context: FeedContext) -> web.Application:
    app = web.Application(middlewares=[json_errors])
    app[CONTEXT] = context
    app.router.add_get("/feed", feed_json)
    app.router.add_get("/feed.atom", feed_atom)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_endpoint)
    serve_document(app, openapi.INFO)
    return app
