"""Hostile HTTP requests against a live registry of this module's own (it may be set read-only or have its
global compatibility changed by them): any route, subjects and versions of any text, hostile query
parameters, bodies and schemas. The registry never answers 5xx, and every error is Confluent's JSON body."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given, note

from govbus.platform.registry_process import RegistryProcess
from testsupport.hostile import Hostile, budget, encoded, hostile, ran, shown, to_json_text

ROUTES = (
    ("GET", "/subjects"), ("POST", "/subjects/{subject}"), ("DELETE", "/subjects/{subject}"),
    ("GET", "/subjects/{subject}/versions"), ("POST", "/subjects/{subject}/versions"),
    ("GET", "/subjects/{subject}/versions/{version}"), ("DELETE", "/subjects/{subject}/versions/{version}"),
    ("GET", "/subjects/{subject}/versions/{version}/schema"),
    ("GET", "/subjects/{subject}/versions/{version}/referencedby"), ("GET", "/schemas/ids/{id}"),
    ("GET", "/schemas/ids/{id}/schema"), ("GET", "/schemas/ids/{id}/subjects"), ("GET", "/schemas/ids/{id}/versions"),
    ("POST", "/compatibility/subjects/{subject}/versions"),
    ("POST", "/compatibility/subjects/{subject}/versions/{version}"), ("GET", "/config/{subject}"),
    ("PUT", "/config/{subject}"), ("PUT", "/config"), ("DELETE", "/config/{subject}"), ("GET", "/mode/{subject}"),
    ("PUT", "/mode/{subject}"), ("PUT", "/mode"), ("DELETE", "/mode/{subject}"), ("PATCH", "/subjects/{subject}"),
    ("GET", "/{subject}"),
)


@pytest.fixture
def http(registry: RegistryProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=registry.url, timeout=30) as client:
        yield client


def _part(gen: Hostile, usual: list[str]) -> str:
    """A path part: a usual value or hostile text, percent-encoded (lone surrogates as their invalid bytes)."""
    text = gen.rng.choice(usual) if gen.rng.random() < 0.4 else gen.string()
    return quote(encoded(text), safe="") or "x"


def _body(gen: Hostile) -> bytes:
    pick = gen.rng.random()
    if pick < 0.6:
        fields = {"schema": gen.schema_text(), "schemaType": gen.rng.choice(["AVRO", "avro", "PROTOBUF", None]),
                  "compatibility": gen.rng.choice(["BACKWARD", "NONE", "FULL_TRANSITIVE", gen.string()]),
                  "mode": gen.rng.choice(["READWRITE", "READONLY", "IMPORT", gen.string()])}
        if gen.rng.random() < 0.3:
            fields["references"] = gen.value(4)
        return encoded(to_json_text({k: v for k, v in fields.items() if gen.rng.random() < 0.8}))
    if pick < 0.7:
        return encoded('{"schema": ' + gen.deep_text(100, 5000) + "}")
    return gen.json_body()


def hostile_request(gen: Hostile) -> tuple[str, str, dict[str, str], bytes]:
    method, template = gen.rng.choice(ROUTES)
    path = template.format(subject=_part(gen, ["hostile-value", "other-value"]),
                           version=_part(gen, ["1", "latest", "-1", "0", "2147483648"]),
                           id=_part(gen, ["1", "2", "0", "99999999999999"]))
    query = {gen.rng.choice(["deleted", "permanent", "offset", "limit", "verbose", "defaultToGlobal",
                             "subjectPrefix"]): _part(gen, ["true", "1", "-1"]) for _ in range(gen.rng.randint(0, 3))}
    return method, path, query, _body(gen) if method in ("POST", "PUT") else b""


def test_hostile_requests_never_get_a_5xx(http: httpx.Client) -> None:
    statuses: Counter[int] = Counter()

    @budget("registry.live")
    @given(hostile())
    def one_request(gen: Hostile) -> None:
        ran("registry.live")
        method, path, query, body = hostile_request(gen)
        note(f"{method} {path} {query} {shown(body)}")
        content_type = gen.rng.choice(["application/vnd.schemaregistry.v1+json", "application/json", "text/plain"])
        response = http.request(method, path, params=query, content=body, headers={"Content-Type": content_type})
        statuses[response.status_code] += 1
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            answer: Any = response.json()
            assert answer["error_code"] and answer["message"], answer

    one_request()
    assert statuses[200] and sum(n for status, n in statuses.items() if status >= 400), statuses
