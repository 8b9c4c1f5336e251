"""OpenAPI 3.1 documents made from an aiohttp application's own route table and pydantic models.

Nobody writes the document by hand; it is made in three steps, each from code:

1. A handler says what it takes and answers with :func:`operation`: an :class:`Operation` of query,
   header and path :class:`Param` s, the request :class:`Content` s and a :class:`Reply` per status code,
   whose bodies are pydantic models (the same models the handler builds its answers with, where it can).
2. :func:`document` walks the application's routes (method and path template, as aiohttp holds them):
   every route becomes one operation of the document, its path parameters read from the template. A
   route whose handler carries no :class:`Operation` is an :class:`~govbus.exceptions.ApiDescriptionError`,
   so a route cannot be added without being documented, and a documented operation cannot outlive its
   route. The twin ``HEAD`` route aiohttp adds to every ``GET`` is left out, and so is a route that only
   repeats another with a trailing ``/`` and the same handler.
3. The models' JSON schemas (JSON Schema 2020-12, OpenAPI 3.1's dialect) become ``components/schemas``,
   made in one pass by pydantic, so a model used by several operations is described once.

:func:`serve_document` adds ``GET /openapi.json`` to an application: the document of that very
application, made at its first request. The components commit their documents to ``docs/openapi/``
(``python -m govbus.commands.openapi``; a unit test fails when a file differs from what the code makes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from govbus.exceptions import ApiDescriptionError

OPENAPI_VERSION = "3.1.0"
OPENAPI_PATH = "/openapi.json"
JSON = "application/json"
PROMETHEUS_TEXT = "text/plain"
ATTRIBUTE = "__govbus_operation__"
_PATH_PARAMETER = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Callable[..., Any])
Location = Literal["path", "query", "header"]


@dataclass(frozen=True)
class Content:
    """A body of one media type: a pydantic model (its JSON schema), else a raw JSON schema (text, XML)."""

    media_type: str = JSON
    model: type[BaseModel] | None = None
    schema: Mapping[str, Any] | None = None
    example: Any = None


@dataclass(frozen=True)
class Reply:
    """One status code's answer: what it means, its bodies, and headers (name -> description) it sets."""

    description: str
    content: tuple[Content, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Param:
    """A path, query or header parameter; ``schema`` is its JSON schema."""

    name: str
    location: Location
    description: str
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = False
    example: Any = None


@dataclass(frozen=True)
class Operation:
    """What one handler takes and answers; ``public`` operations need no credentials."""

    summary: str
    replies: Mapping[int, Reply]
    description: str = ""
    params: tuple[Param, ...] = ()
    body: tuple[Content, ...] = ()
    body_required: bool = True
    public: bool = False
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApiInfo:
    """The document's ``info``, its security schemes, and the replies middlewares add to operations.

    ``security`` applies to every operation that is not public, and ``unauthorised`` (the 401 reply) is
    added to each of those; ``common`` replies are added to every operation (an operation's own reply for
    the same status wins).
    """

    title: str
    version: str
    description: str
    security_schemes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    security: tuple[Mapping[str, tuple[str, ...]], ...] = ()
    unauthorised: Reply | None = None
    common: Mapping[int, Reply] = field(default_factory=dict)
    tags: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Route:
    """One (method, path template) of an application and the handler serving it."""

    method: str
    path: str
    handler: Callable[..., Any]

    @property
    def path_parameters(self) -> list[str]:
        return _PATH_PARAMETER.findall(self.path)


def json_reply(description: str, model: type[BaseModel], media_type: str = JSON, example: Any = None,
               headers: Mapping[str, str] | None = None) -> Reply:
    """A reply whose body is ``model`` as JSON."""
    return Reply(description, (Content(media_type, model, example=example),), dict(headers or {}))


def operation(described: Operation) -> Callable[[H], H]:
    """Attach ``described`` to a handler (a function or a method): :func:`document` reads it from the route."""

    def attach(handler: H) -> H:
        setattr(handler, ATTRIBUTE, described)
        return handler

    return attach


def operation_of(handler: Callable[..., Any]) -> Operation | None:
    """The :class:`Operation` :func:`operation` attached to ``handler`` (a bound method reads its function's)."""
    found = getattr(handler, ATTRIBUTE, None)
    return found if isinstance(found, Operation) else None


def routes(app: web.Application) -> list[Route]:
    """Every route ``app`` serves, in the order they were added; without the ``HEAD`` twin aiohttp adds to
    each ``GET``, and without a route that repeats another with a trailing ``/`` and the same handler."""
    found = [Route(route.method, route.resource.canonical, route.handler)
             for route in app.router.routes() if route.resource is not None]
    served = {(route.method, route.path): route.handler for route in found}
    return [route for route in found
            if not (route.method == "HEAD" and ("GET", route.path) in served)
            and not _alias(route, served)]


def _alias(route: Route, served: Mapping[tuple[str, str], Callable[..., Any]]) -> bool:
    if route.path == "/" or not route.path.endswith("/"):
        return False
    return served.get((route.method, route.path.rstrip("/"))) == route.handler


def document(app: web.Application, info: ApiInfo) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app``: one operation per route, described by its handler's
    :class:`Operation`; :class:`ApiDescriptionError` names a route that has none."""
    served = routes(app)
    described = [(route, _described(route)) for route in served]
    schemas, refs = _components([op for _, op in described] + [_common_operation(info)])
    names = _operation_ids(served)
    paths: dict[str, dict[str, Any]] = {}
    for route, op in described:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, op, info, refs, names[route])
    body: dict[str, Any] = {"openapi": OPENAPI_VERSION,
                            "info": {"title": info.title, "version": info.version, "description": info.description}}
    if info.tags:
        body["tags"] = [{"name": name, "description": text} for name, text in info.tags]
    body["paths"] = paths
    body["components"] = {"schemas": schemas}
    if info.security_schemes:
        body["components"]["securitySchemes"] = {name: dict(scheme) for name, scheme in info.security_schemes.items()}
    return body


def _described(route: Route) -> Operation:
    found = operation_of(route.handler)
    if found is None:
        name = getattr(route.handler, "__qualname__", repr(route.handler))
        raise ApiDescriptionError(f"route {route.method} {route.path} (handler {name}) has no OpenAPI description: "
                                  "decorate the handler with @govbus.openapi.operation(Operation(...))")
    return found


def _common_operation(info: ApiInfo) -> Operation:
    """The replies :class:`ApiInfo` adds, as one operation, so their models join the components."""
    replies = dict(info.common)
    if info.unauthorised is not None:
        replies[401] = info.unauthorised
    return Operation("", replies)


_Refs = dict[tuple[Any, JsonSchemaMode], dict[str, Any]]


def _components(operations: list[Operation]) -> tuple[dict[str, Any], _Refs]:
    """``components/schemas`` of every model the operations name, and each (model, mode)'s ``$ref``: request
    bodies in pydantic's validation mode, replies in its serialization mode."""
    wanted: dict[tuple[Any, JsonSchemaMode], None] = {}
    for op in operations:
        for content in op.body:
            if content.model is not None:
                wanted[(content.model, "validation")] = None
        for reply in op.replies.values():
            for content in reply.content:
                if content.model is not None:
                    wanted[(content.model, "serialization")] = None
    if not wanted:
        return {}, {}
    refs, definitions = models_json_schema(list(wanted), ref_template="#/components/schemas/{model}")
    return dict(sorted(definitions.get("$defs", {}).items())), dict(refs)


def _operation_ids(served: list[Route]) -> dict[Route, str]:
    """The handler's name, or (for a handler serving several routes) the method and path in words."""
    counts: dict[str, int] = {}
    for route in served:
        counts[_name(route)] = counts.get(_name(route), 0) + 1
    return {route: _name(route) if counts[_name(route)] == 1 else _words(route) for route in served}


def _name(route: Route) -> str:
    return str(getattr(route.handler, "__name__", "operation")).strip("_")


def _words(route: Route) -> str:
    parts = re.findall(r"[A-Za-z0-9]+", route.path.replace("{", "by_{"))
    return "_".join([route.method.lower(), *parts]) if parts else f"{route.method.lower()}_root"


def _operation(route: Route, op: Operation, info: ApiInfo, refs: _Refs, operation_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"operationId": operation_id, "summary": op.summary}
    if op.description:
        body["description"] = op.description
    if op.tags:
        body["tags"] = list(op.tags)
    parameters = _parameters(route, op)
    if parameters:
        body["parameters"] = parameters
    if op.body:
        body["requestBody"] = {"required": op.body_required,
                               "content": {c.media_type: _media(c, refs, "validation") for c in op.body}}
    replies = dict(info.common)
    if not op.public and info.unauthorised is not None:
        replies[401] = info.unauthorised
    replies.update(op.replies)
    body["responses"] = {str(status): _reply(replies[status], refs) for status in sorted(replies)}
    if op.public:
        body["security"] = []
    elif info.security:
        body["security"] = [{name: list(scopes) for name, scopes in requirement.items()}
                            for requirement in info.security]
    return body


def _parameters(route: Route, op: Operation) -> list[dict[str, Any]]:
    """The template's path parameters (described by the operation's path :class:`Param` of the same name,
    else a non-empty string), then the operation's query and header parameters."""
    given = {param.name: param for param in op.params if param.location == "path"}
    found = [_parameter(given.get(name) or Param(name, "path", f"the {name}", {"type": "string", "minLength": 1}),
                        required=True)
             for name in route.path_parameters]
    return found + [_parameter(param, param.required) for param in op.params if param.location != "path"]


def _parameter(param: Param, required: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"name": param.name, "in": param.location, "description": param.description,
                            "required": required, "schema": dict(param.schema)}
    if param.example is not None:
        body["example"] = param.example
    return body


def _media(content: Content, refs: _Refs, mode: JsonSchemaMode) -> dict[str, Any]:
    if content.model is not None:
        schema: dict[str, Any] = dict(refs[(content.model, mode)])
    else:
        schema = dict(content.schema or {})
    body: dict[str, Any] = {"schema": schema}
    if content.example is not None:
        body["example"] = content.example
    return body


def _reply(reply: Reply, refs: _Refs) -> dict[str, Any]:
    body: dict[str, Any] = {"description": reply.description}
    if reply.headers:
        body["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                           for name, text in reply.headers.items()}
    if reply.content:
        body["content"] = {c.media_type: _media(c, refs, "serialization") for c in reply.content}
    return body


def rendered(body: Mapping[str, Any]) -> str:
    """The document as the repository keeps it: two-space indent, UTF-8 text as it is, a final newline."""
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


PROMETHEUS_OPERATION = Operation(
    summary="Prometheus metrics",
    replies={200: Reply("the metrics in Prometheus' text format",
                        (Content(PROMETHEUS_TEXT, schema={"type": "string"}),))},
    public=True, tags=("operations",))
"""``GET /metrics``, the same in every component."""

DOCUMENT_OPERATION = Operation(
    summary="This API's OpenAPI 3.1 document",
    description="Generated from the server's own routes and models; the same file is kept in the repository "
    "under docs/openapi/.",
    replies={200: Reply("the OpenAPI document", (Content(JSON, schema={"type": "object"}),))},
    public=True,
)


def serve_document(app: web.Application, info: ApiInfo) -> None:
    """Add ``GET /openapi.json`` to ``app``: the document of ``app`` itself (made at the first request,
    when the routes can no longer change), public."""
    made: list[bytes] = []

    @operation(DOCUMENT_OPERATION)
    async def openapi_document(request: web.Request) -> web.Response:
        if not made:
            made.append(json.dumps(document(request.app, info), ensure_ascii=False).encode("utf-8"))
        return web.Response(body=made[0], content_type=JSON, charset="utf-8")

    app.router.add_get(OPENAPI_PATH, openapi_document)
