"""HTTP handlers of the Confluent Schema Registry REST API (thin: parse, call, reply)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from govbus.openapi import operation
from schemas.registry import openapi, reads, writes
from schemas.registry.compatibility import CompatibilityLevel
from schemas.registry.errors import OperationNotPermitted
from schemas.registry.forward import FORWARDED_HEADER, Forwarder
from schemas.registry.inputs import (
    SchemaRequest,
    flag,
    page,
    parse_json_object,
    parse_schema_id,
    parse_schema_request,
    parse_version,
)
from schemas.registry.modes import Mode
from schemas.registry.service import ForwardTo, Planner, RegistryService
from schemas.registry.state import RegistryState, Version

CONTENT_TYPE = openapi.CONTENT_TYPE
POSITION_HEADER = openapi.POSITION_HEADER
_READ_YOUR_WRITE_SECONDS = 5.0


def reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON answer with the registry's content type."""
    return web.Response(status=status, body=json.dumps(data).encode(), content_type=CONTENT_TYPE, headers=headers)


async def _schema_body(request: web.Request) -> SchemaRequest:
    return parse_schema_request(parse_json_object(await request.read()))


def _subject(request: web.Request) -> str:
    return request.match_info["subject"]


class Handlers:
    """One method per endpoint; reads use the state, writes go through the service."""

    def __init__(self, service: RegistryService, forwarder: Forwarder) -> None:
        self._service = service
        self._forwarder = forwarder

    @property
    def _state(self) -> RegistryState:
        return self._service.state

    async def _write(self, request: web.Request, planner: Planner) -> web.Response:
        """Write here, or relay to the primary and wait until this instance has read the
        write back too (the primary says up to where), so a client reads its own writes."""
        store = self._service.store
        outcome = await self._service.write(planner, forwarded=FORWARDED_HEADER in request.headers)
        if not isinstance(outcome, ForwardTo):
            return reply(outcome, headers={POSITION_HEADER: str(store.position)})
        answer = await self._forwarder.forward(request, outcome.url)
        position = answer.headers.get(POSITION_HEADER, "")
        if position.isascii() and position.isdigit():
            await store.wait_for_position(int(position), _READ_YOUR_WRITE_SECONDS)
        return answer

    # ------------------------------------------------------------------ subjects

    @operation(openapi.ROOT)
    async def root(self, request: web.Request) -> web.Response:
        return reply({})

    @operation(openapi.LIST_SUBJECTS)
    async def list_subjects(self, request: web.Request) -> web.Response:
        q = request.query
        prefix = q.get("subjectPrefix", "")
        names = reads.list_subjects(self._state, flag(q, "deleted"), flag(q, "deleted_only"), prefix)
        return reply(page(names, q))

    @operation(openapi.LIST_VERSIONS)
    async def list_versions(self, request: web.Request) -> web.Response:
        q = request.query
        versions = reads.list_versions(self._state, _subject(request), flag(q, "deleted"), flag(q, "deleted_only"))
        return reply(page(versions, q))

    @operation(openapi.REGISTER)
    async def register(self, request: web.Request) -> web.Response:
        body = parse_json_object(await request.read())
        if body.get("id") is not None:
            raise OperationNotPermitted(
                "Registering with a chosen \"id\" needs IMPORT mode, which govbus does not support."
            )
        schema, subject = parse_schema_request(body), _subject(request)
        return await self._write(request, lambda state: writes.plan_register(state, subject, schema))

    @operation(openapi.GET_VERSION)
    async def get_version(self, request: web.Request) -> web.Response:
        return reply(reads.version_reply(self._version(request)))

    @operation(openapi.GET_VERSION_SCHEMA)
    async def get_version_schema(self, request: web.Request) -> web.Response:
        return reply(reads.raw_schema(self._version(request).schema))

    @operation(openapi.REFERENCED_BY)
    async def referenced_by(self, request: web.Request) -> web.Response:
        found = self._version(request)
        return reply(self._state.referenced_by(found.subject, found.version))

    def _version(self, request: web.Request) -> Version:
        spec = parse_version(request.match_info["version"])
        return reads.get_version(self._state, _subject(request), spec, flag(request.query, "deleted"))

    @operation(openapi.DELETE_VERSION)
    async def delete_version(self, request: web.Request) -> web.Response:
        spec, subject = parse_version(request.match_info["version"]), _subject(request)
        permanent = flag(request.query, "permanent")
        return await self._write(request, lambda state: writes.plan_delete_version(state, subject, spec, permanent))

    @operation(openapi.LOOKUP)
    async def lookup(self, request: web.Request) -> web.Response:
        schema = await _schema_body(request)
        return reply(reads.lookup(self._state, _subject(request), schema, flag(request.query, "deleted")))

    @operation(openapi.DELETE_SUBJECT)
    async def delete_subject(self, request: web.Request) -> web.Response:
        subject, permanent = _subject(request), flag(request.query, "permanent")
        return await self._write(request, lambda state: writes.plan_delete_subject(state, subject, permanent))

    # ------------------------------------------------------------------ schemas by id

    @operation(openapi.SCHEMA_BY_ID)
    async def schema_by_id(self, request: web.Request) -> web.Response:
        stored = reads.schema_by_id(self._state, parse_schema_id(request.match_info["id"]))
        return reply(reads.schema_reply(stored))

    @operation(openapi.RAW_SCHEMA_BY_ID)
    async def raw_schema_by_id(self, request: web.Request) -> web.Response:
        stored = reads.schema_by_id(self._state, parse_schema_id(request.match_info["id"]))
        return reply(reads.raw_schema(stored.schema))

    @operation(openapi.SUBJECTS_BY_ID)
    async def subjects_by_id(self, request: web.Request) -> web.Response:
        usages = reads.id_usages(self._state, parse_schema_id(request.match_info["id"]), flag(request.query, "deleted"))
        return reply(page(sorted({v.subject for v in usages}), request.query))

    @operation(openapi.VERSIONS_BY_ID)
    async def versions_by_id(self, request: web.Request) -> web.Response:
        usages = reads.id_usages(self._state, parse_schema_id(request.match_info["id"]), flag(request.query, "deleted"))
        return reply(page([{"subject": v.subject, "version": v.version} for v in usages], request.query))

    @operation(openapi.SCHEMA_TYPES)
    async def schema_types(self, request: web.Request) -> web.Response:
        return reply(["AVRO"])

    @operation(openapi.CONTEXTS)
    async def contexts(self, request: web.Request) -> web.Response:
        return reply(["."])

    # ------------------------------------------------------------------ compatibility

    @operation(openapi.COMPATIBILITY)
    async def compatibility_version(self, request: web.Request) -> web.Response:
        spec = parse_version(request.match_info["version"])
        return await self._compatibility(request, spec)

    @operation(openapi.COMPATIBILITY)
    async def compatibility_all(self, request: web.Request) -> web.Response:
        return await self._compatibility(request, None)

    async def _compatibility(self, request: web.Request, spec: Any) -> web.Response:
        schema = await _schema_body(request)
        verbose = flag(request.query, "verbose")
        return reply(reads.test_compatibility(self._state, _subject(request), spec, schema, verbose))

    # ------------------------------------------------------------------ config and mode

    @operation(openapi.GET_CONFIG)
    async def get_config(self, request: web.Request) -> web.Response:
        subject = request.match_info.get("subject")
        return reply(reads.get_config(self._state, subject, flag(request.query, "defaultToGlobal")))

    @operation(openapi.PUT_CONFIG)
    async def put_config(self, request: web.Request) -> web.Response:
        body = parse_json_object(await request.read())
        level = CompatibilityLevel.parse(body.get("compatibility", body.get("compatibilityLevel")))
        subject = request.match_info.get("subject")
        return await self._write(request, lambda state: writes.plan_set_config(state, subject, level))

    @operation(openapi.DELETE_CONFIG)
    async def delete_config(self, request: web.Request) -> web.Response:
        subject = request.match_info.get("subject")
        return await self._write(request, lambda state: writes.plan_delete_config(state, subject))

    @operation(openapi.GET_MODE)
    async def get_mode(self, request: web.Request) -> web.Response:
        subject = request.match_info.get("subject")
        return reply(reads.get_mode(self._state, subject, flag(request.query, "defaultToGlobal")))

    @operation(openapi.PUT_MODE)
    async def put_mode(self, request: web.Request) -> web.Response:
        mode = Mode.parse(parse_json_object(await request.read()).get("mode"))
        subject = request.match_info.get("subject")
        return await self._write(request, lambda state: writes.plan_set_mode(state, subject, mode))

    @operation(openapi.DELETE_MODE)
    async def delete_mode(self, request: web.Request) -> web.Response:
        subject = request.match_info.get("subject")
        return await self._write(request, lambda state: writes.plan_delete_mode(state, subject))


def add_routes(app: web.Application, h: Handlers) -> None:
    """The endpoints, as Confluent names them."""
    r = app.router
    r.add_get("/", h.root)
    r.add_get("/subjects", h.list_subjects)
    r.add_post("/subjects/{subject}", h.lookup)
    r.add_delete("/subjects/{subject}", h.delete_subject)
    r.add_get("/subjects/{subject}/versions", h.list_versions)
    r.add_post("/subjects/{subject}/versions", h.register)
    r.add_get("/subjects/{subject}/versions/{version}", h.get_version)
    r.add_delete("/subjects/{subject}/versions/{version}", h.delete_version)
    r.add_get("/subjects/{subject}/versions/{version}/schema", h.get_version_schema)
    r.add_get("/subjects/{subject}/versions/{version}/referencedby", h.referenced_by)
    r.add_get("/schemas/types", h.schema_types)
    r.add_get("/schemas/ids/{id}", h.schema_by_id)
    r.add_get("/schemas/ids/{id}/schema", h.raw_schema_by_id)
    r.add_get("/schemas/ids/{id}/subjects", h.subjects_by_id)
    r.add_get("/schemas/ids/{id}/versions", h.versions_by_id)
    r.add_get("/contexts", h.contexts)
    r.add_post("/compatibility/subjects/{subject}/versions", h.compatibility_all)
    r.add_post("/compatibility/subjects/{subject}/versions/{version}", h.compatibility_version)
    for path in ("/config", "/config/{subject}"):
        r.add_get(path, h.get_config)
        r.add_put(path, h.put_config)
        r.add_delete(path, h.delete_config)
    r.add_get("/mode", h.get_mode)
    r.add_put("/mode", h.put_mode)
    r.add_get("/mode/{subject}", h.get_mode)
    r.add_put("/mode/{subject}", h.put_mode)
    r.add_delete("/mode/{subject}", h.delete_mode)
