"""The OpenAPI documents of the gateway, the feed and the registry (issue #13 point 1): each is valid OpenAPI 3.1,
the committed file is what the code makes (nobody edits the JSON), and its operations are exactly the routes the
application serves, in both directions. The live servers are checked against them by schemathesis in
tests/integration/{publishing,public_feed,registry}/test_*_openapi_live.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from pydantic import BaseModel

from connectors.ingest_gateway.openapi import EXAMPLE_ITEM, EXAMPLE_RECORD
from govbus.commands import openapi as generate
from govbus.exceptions import ApiDescriptionError
from govbus.openapi import ApiInfo, Operation, Reply, document, json_reply, operation, routes
from schemas.catalogue import load_catalogue

ROOT = Path(__file__).resolve().parents[2]
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    return generate.documents()


def test_the_committed_documents_are_what_the_code_makes() -> None:
    assert generate.differences() == [], "run `python -m govbus.commands.openapi` (do not edit the JSON by hand)"


@pytest.mark.parametrize("name", sorted(generate.APIS))
def test_each_document_is_valid_openapi_3_1(documents: dict[str, dict[str, Any]], name: str) -> None:
    body = documents[name]
    assert body["openapi"].startswith("3.1")
    validate(body)  # openapi-spec-validator picks the 3.1 validator from the document's version


def test_the_validator_does_refuse_a_broken_document(documents: dict[str, dict[str, Any]]) -> None:
    broken = json.loads(json.dumps(documents["feed"]))
    broken["paths"]["/feed"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] = {"$ref": 3}
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


@pytest.mark.parametrize("name", sorted(generate.APIS))
def test_the_document_has_exactly_the_routes_the_app_serves(documents: dict[str, dict[str, Any]], name: str) -> None:
    """Read from aiohttp's own route table (without the HEAD twin of every GET), not from the generator."""
    build, _info = generate.APIS[name]
    app = build()
    served = {(route.method, route.resource.canonical) for route in app.router.routes()
              if route.resource is not None and route.method != "HEAD"}
    documented = {(method.upper(), path) for path, item in documents[name]["paths"].items()
                  for method in item if method in METHODS}
    assert served - documented == set(), "routes missing from the document"
    assert documented - served == set(), "documented operations the app does not serve"
    assert ("GET", "/openapi.json") in served


@pytest.mark.parametrize("name", sorted(generate.APIS))
def test_every_operation_documents_its_answers(documents: dict[str, dict[str, Any]], name: str) -> None:
    for path, item in documents[name]["paths"].items():
        for method, described in item.items():
            statuses = set(described["responses"])
            assert any(status.startswith("2") for status in statuses), (method, path)
            assert "500" in statuses, (method, path)
            if described.get("security") != []:
                assert "401" in statuses, (method, path)  # an authenticated route documents its refusal


def test_the_openapi_document_and_health_need_no_credentials(documents: dict[str, dict[str, Any]]) -> None:
    for name, public in {"gateway": ("/healthz", "/metrics", "/openapi.json"),
                         "registry": ("/", "/metrics", "/openapi.json")}.items():
        for path in public:
            assert documents[name]["paths"][path]["get"]["security"] == [], (name, path)
    assert documents["gateway"]["paths"]["/v1/items/{item}/records"]["post"]["security"] == [
        {"bearerKey": []}, {"apiKeyHeader": []}]
    assert documents["registry"]["paths"]["/subjects"]["get"]["security"] == [{"basic": []}]
    assert all(described["security"] == [] for item in documents["feed"]["paths"].values()
               for described in item.values())


def test_the_gateway_example_is_a_valid_record() -> None:
    """The document's example record is what the generated requests publish: it must pass the catalogue."""
    load_catalogue().get(EXAMPLE_ITEM).validate(dict(EXAMPLE_RECORD))


def test_write_and_differences(tmp_path: Path) -> None:
    generate.write(tmp_path)
    assert generate.differences(tmp_path) == []
    (tmp_path / "feed.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "old.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "registry.json").unlink()
    assert generate.differences(tmp_path) == ["missing: registry.json", "not generated (remove it): old.json",
                                              "differs from the code: feed.json"]
    assert generate.main(["--check"]) == 0


# -- the generator itself ---------------------------------------------------------------------------------------

class Thing(BaseModel):
    name: str


INFO = ApiInfo("test", "1", "an API of tests", security_schemes={"basic": {"type": "http", "scheme": "basic"}},
               security=({"basic": ()},), unauthorised=Reply("who are you"), common={500: Reply("broken")})
THING = Operation("a thing", {200: json_reply("the thing", Thing)})


@operation(THING)
async def get_thing(_request: web.Request) -> web.Response:
    return web.json_response({"name": "x"})


async def undocumented(_request: web.Request) -> web.Response:
    return web.json_response({})


def test_a_route_without_a_description_cannot_be_documented() -> None:
    app = web.Application()
    app.router.add_get("/things/{name}", get_thing)
    app.router.add_post("/secret", undocumented)
    with pytest.raises(ApiDescriptionError, match="POST /secret"):
        document(app, INFO)


def test_routes_leave_out_head_twins_and_trailing_slash_aliases() -> None:
    app = web.Application()
    app.router.add_get("/things/{name}", get_thing)
    app.router.add_get("/things/{name}/", get_thing)
    app.router.add_get("/other/", get_thing)
    assert [(route.method, route.path) for route in routes(app)] == [("GET", "/things/{name}"), ("GET", "/other/")]


def test_an_operation_has_its_path_parameters_replies_and_security() -> None:
    app = web.Application()
    app.router.add_get("/things/{name}", get_thing)
    app.router.add_get("/all-things", get_thing)
    body = document(app, INFO)
    one = body["paths"]["/things/{name}"]["get"]
    assert one["parameters"] == [{"name": "name", "in": "path", "description": "the name", "required": True,
                                  "schema": {"type": "string", "minLength": 1}}]
    assert set(one["responses"]) == {"200", "401", "500"} and one["security"] == [{"basic": []}]
    assert one["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Thing"}
    assert body["components"]["schemas"]["Thing"]["required"] == ["name"]
    # one handler on two routes: operation ids from method and path, so they stay unique
    assert {one["operationId"], body["paths"]["/all-things"]["get"]["operationId"]} == {
        "get_things_by_name", "get_all_things"}
    validate(body)
