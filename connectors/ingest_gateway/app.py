"""The gateway's aiohttp application: authentication, item checks, batch publishing, errors as JSON."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

from connectors.ingest_gateway import openapi
from connectors.ingest_gateway.batch import BadBody, parse_body, publish_batch
from connectors.ingest_gateway.bodies import BatchAnswer, DeleteAnswer, GatewayError, Health, RecordResult
from connectors.ingest_gateway.idempotency import IDEMPOTENCY_KEY_HEADER, MAX_IDEMPOTENCY_KEY, key_problem
from connectors.ingest_gateway.keys import KeyStore
from connectors.ingest_gateway.openapi import MAX_SOURCE_SYSTEM
from connectors.ingest_gateway.openapi import SOURCE_SYSTEM_HEADER as SOURCE_HEADER
from connectors.ingest_gateway.settings import GatewaySettings
from govbus.exceptions import GovbusError, ValidationError
from govbus.openapi import operation, serve_document
from govbus.publisher import NotOwnerError, Publisher, PublisherSettings
from schemas.catalogue.types import text_problem

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    """A refusal as :class:`GatewayError` JSON (``extra``: its optional fields)."""
    body = GatewayError(error=code, message=message, **extra)
    return web.json_response(body.model_dump(exclude_none=True), status=status)


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter("govbus_gateway_requests", "HTTP requests by status", ["status"], registry=registry)
        self.records = Counter("govbus_gateway_records", "Records by item and outcome",
                               ["item", "outcome"], registry=registry)


class DepartmentPublishers:
    """One Publisher per department, created on first use."""

    def __init__(self, settings: GatewaySettings, catalogue: Any) -> None:
        self._settings = PublisherSettings(kafka=settings.kafka,
                                           registry=settings.registry)
        self._catalogue = catalogue
        self._publishers: dict[str, Publisher] = {}
        self._lock = threading.Lock()

    def for_department(self, department: str) -> Publisher:
        with self._lock:
            if department not in self._publishers:
                self._publishers[department] = Publisher(department, "ingest-gateway", settings=self._settings,
                                                         catalogue=self._catalogue)
            return self._publishers[department]

    def close(self) -> None:
        for publisher in self._publishers.values():
            publisher.close()


PUBLISHERS = web.AppKey("publishers", DepartmentPublishers)
METRICS = web.AppKey("metrics", GatewayMetrics)
MAX_BODY = web.AppKey("max_body_bytes", int)


def _source_system(request: web.Request) -> tuple[str | None, web.Response | None]:
    """The ``X-Source-System`` header, or a 400 when it is empty or no plain text (it goes into every event's
    envelope, and names the event's source)."""
    source = request.headers.get(SOURCE_HEADER)
    if source is None:
        return None, None
    reason = _source_problem(source)
    if reason is not None:
        return None, error(400, "bad_header", f"header {SOURCE_HEADER}: {reason}; name the sending system in plain "
                           "UTF-8 text, or leave the header out")
    return source, None


def _source_problem(source: str) -> str | None:
    problem = text_problem(source)
    if problem is not None:
        return problem[1]
    if not source:
        return "is empty"
    if len(source) > MAX_SOURCE_SYSTEM:
        return f"is longer than {MAX_SOURCE_SYSTEM} characters"
    return None


def _idempotency_key(request: web.Request) -> tuple[str | None, web.Response | None]:
    """The ``Idempotency-Key`` header, or a 400 when it is empty, too long or not printable ASCII (the records'
    event ids are derived from it: :mod:`connectors.ingest_gateway.idempotency`)."""
    key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    if key is None:
        return None, None
    reason = key_problem(key)
    if reason is not None:
        return None, error(400, "bad_header", f"header {IDEMPOTENCY_KEY_HEADER}: {reason}; send 1 to "
                           f"{MAX_IDEMPOTENCY_KEY} printable ASCII characters (a new UUID per batch, the same one "
                           "when you send that batch again), or leave the header out")
    return key, None


def _api_key(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.headers.get("X-API-Key") or None


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer is JSON; bad input never becomes a 500; unexpected failures are logged."""
    metrics = request.app[METRICS]
    try:
        response = await handler(request)
    except web.HTTPRequestEntityTooLarge:
        response = error(413, "body_too_large", f"the body is larger than {request.app[MAX_BODY]} bytes; "
                         "split the batch into smaller requests")
    except web.HTTPMethodNotAllowed as refused:
        allowed = ", ".join(sorted(refused.allowed_methods))
        response = error(405, "method_not_allowed", f"{request.method} is not allowed here; use {allowed}")
        response.headers["Allow"] = refused.headers.get("Allow", allowed)  # RFC 9110: a 405 names what is allowed
    except web.HTTPException as http:
        response = error(http.status, http.reason.lower().replace(" ", "_"), http.text or http.reason)
    except Exception:
        log.exception("unexpected failure", extra={"path": request.path})
        response = error(500, "internal_error", "the gateway failed unexpectedly; the records were not "
                         "accepted, retry later and report it to the platform operators")
    metrics.requests.labels(status=str(response.status)).inc()
    return response


class Routes:
    def __init__(self, settings: GatewaySettings, keys: KeyStore, catalogue: Any) -> None:
        self._settings = settings
        self._keys = keys
        self._catalogue = catalogue

    def _authorise(self, request: web.Request, item: str) -> tuple[Publisher | None, web.Response | None]:
        key = _api_key(request)
        if key is None:
            return None, error(401, "unauthorized", "no API key: send 'Authorization: Bearer <key>' or 'X-API-Key'")
        department = self._keys.department_of(key)
        if department is None:
            return None, error(401, "unauthorized", "unknown API key; ask the platform operators for a key")
        if item not in self._catalogue.names():
            return None, error(404, "unknown_item", f"no data item {item!r} in the catalogue",
                               known_items=sorted(self._catalogue.names()))
        publisher = request.app[PUBLISHERS].for_department(department)
        try:
            publisher.item(item)
        except NotOwnerError as denied:
            return None, error(403, "forbidden", str(denied))
        return publisher, None

    @operation(openapi.POST_RECORDS)
    async def post_records(self, request: web.Request) -> web.Response:
        item = request.match_info["item"]
        publisher, refusal = self._authorise(request, item)
        if refusal is not None or publisher is None:
            return refusal or error(401, "unauthorized", "no API key")
        source_system, bad_header = _source_system(request)
        if bad_header is not None:
            return bad_header
        idempotency_key, bad_key = _idempotency_key(request)
        if bad_key is not None:
            return bad_key
        try:
            parsed = parse_body(await request.read(), request.content_type)
        except BadBody as bad:
            return error(400, "bad_body", str(bad))
        if not parsed:
            return error(400, "empty_body", "the body holds no records")
        if len(parsed) > self._settings.gateway_max_batch_records:
            return error(413, "batch_too_large", f"{len(parsed)} records in one request; the limit is "
                         f"{self._settings.gateway_max_batch_records}: split the batch")
        results = await publish_batch(publisher, item, parsed, source_system,
                                      self._settings.gateway_ack_timeout_seconds, idempotency_key)
        return self._answer(request, item, results)

    def _answer(self, request: web.Request, item: str, results: list[RecordResult]) -> web.Response:
        answer = BatchAnswer.of(results)
        for outcome in ("accepted", "rejected", "failed"):
            request.app[METRICS].records.labels(item=item, outcome=outcome).inc(getattr(answer, outcome))
        status = 202 if answer.accepted else (503 if answer.failed else 422)
        if status == 422:
            answer.message = "no record was accepted: fix the fields named in results and send them again"
        if status == 503:
            answer.message = ("the broker did not acknowledge the records: send the batch again later, with the "
                              f"same {IDEMPOTENCY_KEY_HEADER} (so that records stored already are not stored twice)")
        return web.json_response(answer.model_dump(exclude_none=True), status=status)

    @operation(openapi.DELETE_RECORD)
    async def delete_record(self, request: web.Request) -> web.Response:
        item, key = request.match_info["item"], request.match_info["key"]
        publisher, refusal = self._authorise(request, item)
        if refusal is not None or publisher is None:
            return refusal or error(401, "unauthorized", "no API key")
        source_system, bad_header = _source_system(request)
        if bad_header is not None:
            return bad_header
        try:
            delivery = await _wrap(publisher.delete(item, key, source_system=source_system))
        except ValidationError as refused:
            return error(422, "rejected", refused.detail, field=refused.field, rule=refused.rule)
        except GovbusError as failed:
            return error(503, "not_delivered", str(failed))
        answer = DeleteAnswer(event_id=delivery.event_id, topic=delivery.topic, partition=delivery.partition,
                              offset=delivery.offset)
        return web.json_response(answer.model_dump(), status=202)


async def _wrap(future: Any) -> Any:
    return await asyncio.wrap_future(future)


@operation(openapi.HEALTH)
async def healthz(_request: web.Request) -> web.Response:
    return web.json_response(Health().model_dump())


@operation(openapi.METRICS)
async def metrics_endpoint(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def build_app(settings: GatewaySettings, keys: KeyStore, catalogue: Any,
              registry: CollectorRegistry | None = None) -> web.Application:
    app = web.Application(client_max_size=settings.gateway_max_body_bytes, middlewares=[json_errors])
    app[METRICS] = GatewayMetrics(registry or CollectorRegistry())
    app[MAX_BODY] = settings.gateway_max_body_bytes
    routes = Routes(settings, keys, catalogue)
    app.router.add_post("/v1/items/{item}/records", routes.post_records)
    app.router.add_delete("/v1/items/{item}/records/{key}", routes.delete_record)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_endpoint)
    serve_document(app, openapi.INFO)

    async def start_publishers(app: web.Application) -> None:
        app[PUBLISHERS] = DepartmentPublishers(settings, catalogue)

    async def close_publishers(app: web.Application) -> None:
        app[PUBLISHERS].close()

    app.on_startup.append(start_publishers)
    app.on_cleanup.append(close_publishers)
    return app
