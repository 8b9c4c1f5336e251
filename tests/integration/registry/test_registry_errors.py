"""Every error code, with raw HTTP requests: status, Confluent error_code, and a helpful message.

And nothing a client can send makes the registry answer 500.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from govbus import clients
from govbus.exceptions import StartupTimeoutError
from govbus.platform.processes import free_port
from govbus.platform.registry_process import RegistryProcess, start_registry_process
from schemas.registry.canonical import MAX_SCHEMA_BYTES
from testsupport.connections import kafka_at

V1 = {"type": "record", "name": "Item", "fields": [{"name": "n", "type": "long"}]}
V2 = {**V1, "fields": [*V1["fields"], {"name": "tag", "type": ["null", "string"], "default": None}]}
NARROWER = {"type": "record", "name": "Item", "fields": [{"name": "n", "type": "int"}]}


def body(schema: Any) -> dict[str, Any]:
    return {"schema": json.dumps(schema)}


@pytest.fixture
def http(registry: RegistryProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=registry.url, timeout=20) as client:
        yield client


@pytest.fixture
def subject(http: httpx.Client, unique_name: Callable[[str], str]) -> str:
    """A subject with versions 1 and 2."""
    name = unique_name("items-value")
    for schema in (V1, V2):
        assert http.post(f"/subjects/{name}/versions", json=body(schema)).status_code == 200
    return name


def expect(response: httpx.Response, status: int, code: int, *words: str) -> None:
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["error_code"] == code, payload
    for word in words:
        assert word in payload["message"], payload["message"]


def test_subject_version_and_schema_not_found(http: httpx.Client, subject: str) -> None:
    expect(http.get("/subjects/no-such-subject/versions"), 404, 40401, "'no-such-subject'", "not found")
    expect(http.get("/subjects/no-such-subject/versions/1"), 404, 40401, "no-such-subject")
    expect(http.post("/subjects/no-such-subject", json=body(V1)), 404, 40401)
    expect(http.delete("/subjects/no-such-subject"), 404, 40401)
    expect(http.get(f"/subjects/{subject}/versions/99"), 404, 40402, "99")
    expect(http.delete(f"/subjects/{subject}/versions/99"), 404, 40402, "99")
    expect(http.get("/schemas/ids/987654"), 404, 40403, "987654")
    expect(http.get("/schemas/ids/not-a-number/schema"), 404, 40403)
    expect(http.get("/schemas/ids/987654/versions"), 404, 40403)
    expect(http.post(f"/subjects/{subject}", json=body(NARROWER)), 404, 40403, subject)


def test_soft_and_permanent_delete_errors(http: httpx.Client, subject: str) -> None:
    expect(http.delete(f"/subjects/{subject}/versions/1", params={"permanent": "true"}), 404, 40407, "soft delete")
    expect(http.delete(f"/subjects/{subject}", params={"permanent": "true"}), 404, 40405, "soft delete")
    assert http.delete(f"/subjects/{subject}/versions/1").json() == 1
    expect(http.delete(f"/subjects/{subject}/versions/1"), 404, 40406, "permanent=true")
    expect(http.get(f"/subjects/{subject}/versions/1"), 404, 40402)
    assert http.get(f"/subjects/{subject}/versions/1", params={"deleted": "true"}).json()["version"] == 1
    assert http.delete(f"/subjects/{subject}").json() == [2]
    expect(http.delete(f"/subjects/{subject}"), 404, 40404, "permanent=true")
    expect(http.get(f"/subjects/{subject}/versions"), 404, 40401)
    assert http.delete(f"/subjects/{subject}", params={"permanent": "true"}).json() == [1, 2]
    expect(http.get(f"/subjects/{subject}/versions", params={"deleted": "true"}), 404, 40401)


def test_config_and_mode_not_configured(http: httpx.Client, subject: str) -> None:
    expect(http.get(f"/config/{subject}"), 404, 40408, "defaultToGlobal")
    assert http.get(f"/config/{subject}", params={"defaultToGlobal": "true"}).json() == {
        "compatibilityLevel": "BACKWARD"
    }
    expect(http.delete(f"/config/{subject}"), 404, 40408)
    expect(http.get(f"/mode/{subject}"), 404, 40409)
    assert http.get(f"/mode/{subject}", params={"defaultToGlobal": "true"}).json() == {"mode": "READWRITE"}


def test_incompatible_schema_is_409_with_reasons(http: httpx.Client, subject: str) -> None:
    response = http.post(f"/subjects/{subject}/versions", json=body(NARROWER))
    expect(response, 409, 409, "incompatible", subject, "/fields/n/type", "int", "long")


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({"schema": "{not json"}, ("not valid JSON",)),
        (body({"type": "record", "name": "X", "fields": [{"name": "a", "type": "nope"}]}), ("not valid Avro", "nope")),
        (body({"type": "record", "name": "X", "fields": [{"name": "a", "type": "int", "default": "x"}]}), ("default",)),
        ({"schema": '{"type":"object"}', "schemaType": "JSON"}, ("only AVRO is supported",)),
        ({"schema": 'syntax = "proto3";', "schemaType": "PROTOBUF"}, ("only AVRO is supported",)),
        ({"schemaType": "AVRO"}, ('"schema"',)),
        ({"schema": {"type": "int"}}, ('"schema"',)),
        ({"schema": '"int"', "references": [{"name": "X", "subject": "nowhere", "version": 1}]}, ("nowhere",)),
    ],
)
def test_invalid_schemas_are_42201(
    http: httpx.Client, unique_name: Callable[[str], str], payload: Any, words: Any
) -> None:
    name = unique_name("bad")
    expect(http.post(f"/subjects/{name}/versions", json=payload), 422, 42201, *words)
    expect(http.post(f"/compatibility/subjects/{name}/versions", json=payload), 422, 42201, *words)


@pytest.mark.parametrize("version", ["abc", "0", "-5", "2147483648", "1.0"])
def test_invalid_versions_are_42202(http: httpx.Client, subject: str, version: str) -> None:
    expect(http.get(f"/subjects/{subject}/versions/{version}"), 422, 42202, f"'{version}'", "latest")
    expect(http.delete(f"/subjects/{subject}/versions/{version}"), 422, 42202)
    expect(http.post(f"/compatibility/subjects/{subject}/versions/{version}", json=body(V1)), 422, 42202)


def test_invalid_compatibility_level_and_mode(http: httpx.Client, subject: str) -> None:
    expect(http.put("/config", json={"compatibility": "SIDEWAYS"}), 422, 42203, "SIDEWAYS", "FULL_TRANSITIVE")
    expect(http.put(f"/config/{subject}", json={}), 422, 42203)
    expect(http.put("/mode", json={"mode": "SOMETIMES"}), 422, 42204, "SOMETIMES", "READWRITE")
    expect(http.put(f"/mode/{subject}", json={"mode": "IMPORT"}), 422, 42204, "IMPORT")
    assert http.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
    assert http.get("/mode").json() == {"mode": "READWRITE"}


def test_read_only_refuses_writes_with_42205(http: httpx.Client, subject: str) -> None:
    assert http.put(f"/mode/{subject}", json={"mode": "READONLY"}).json() == {"mode": "READONLY"}
    v3 = {**V2, "doc": "v3"}
    expect(http.post(f"/subjects/{subject}/versions", json=body(v3)), 422, 42205, "READONLY", "READWRITE")
    expect(http.delete(f"/subjects/{subject}/versions/1"), 422, 42205)
    expect(http.delete(f"/subjects/{subject}"), 422, 42205)
    assert http.get(f"/subjects/{subject}/versions").json() == [1, 2]  # reads still work
    assert http.delete(f"/mode/{subject}").json() == {"mode": "READONLY"}
    assert http.post(f"/subjects/{subject}/versions", json=body(v3)).json()["version"] == 3
    expect(http.post(f"/subjects/{subject}/versions", json={**body(V1), "id": 77}), 422, 42205, "IMPORT")


def test_global_read_only_mode(http: httpx.Client, unique_name: Callable[[str], str]) -> None:
    assert http.put("/mode", json={"mode": "READONLY"}).json() == {"mode": "READONLY"}
    try:
        expect(http.post(f"/subjects/{unique_name('ro')}/versions", json=body(V1)), 422, 42205, "READONLY")
    finally:
        assert http.put("/mode", json={"mode": "READWRITE"}).json() == {"mode": "READWRITE"}
    assert http.post(f"/subjects/{unique_name('rw')}/versions", json=body(V1)).status_code == 200


def test_schemas_too_large_for_kafka_are_42209(http: httpx.Client, unique_name: Callable[[str], str]) -> None:
    huge = {"type": "record", "name": "Big", "doc": "x" * 600_000, "fields": [{"name": "a", "type": "int"}]}
    expect(http.post(f"/subjects/{unique_name('big')}/versions", json=body(huge)), 422, 42209, "limit")
    # just under the limit, and doubly escaped when stored: still fits in one Kafka record
    quotes = (MAX_SCHEMA_BYTES - 100) // 2
    largest = {"type": "record", "name": "Big", "doc": '"' * quotes, "fields": [{"name": "a", "type": "int"}]}
    response = http.post(f"/subjects/{unique_name('largest')}/versions", json=body(largest))
    assert response.status_code == 200, response.text


def test_malformed_bodies_and_routes(http: httpx.Client, subject: str) -> None:
    headers = {"Content-Type": "application/vnd.schemaregistry.v1+json"}
    expect(http.post(f"/subjects/{subject}/versions", content=b"{oops", headers=headers), 400, 400, "not valid JSON")
    expect(http.post(f"/subjects/{subject}/versions", content=b"", headers=headers), 400, 400)
    expect(http.post(f"/subjects/{subject}/versions", json=[1, 2]), 400, 400, "JSON object")
    expect(http.put("/config", content=b"\xff\xfe", headers=headers), 400, 400)
    expect(http.get("/no/such/endpoint"), 404, 404, "/no/such/endpoint")
    expect(http.patch("/subjects"), 405, 405)
    expect(http.post(f"/subjects/{subject}/versions", content=b" " * (5 * 1024 * 1024)), 413, 413)


BAD_REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/subjects?deleted=maybe&offset=x&limit=y&subjectPrefix=%00", {}),
    ("GET", "/subjects/%00/versions", {}),
    ("GET", "/subjects/%C3%A9%2F..%2F/versions/latest/schema", {}),
    ("GET", "/subjects/x/versions/99999999999999999999999", {}),
    ("GET", "/subjects/x/versions/%F0%9F%98%80", {}),
    ("GET", "/schemas/ids/-1", {}),
    ("GET", "/schemas/ids/99999999999999999999999999/subjects", {}),
    ("GET", "/schemas/ids/1/versions?deleted=1&limit=-99", {}),
    ("POST", "/subjects/x/versions", {"content": b"null"}),
    ("POST", "/subjects/x/versions", {"content": b"[" * 100_000}),
    ("POST", "/subjects/x/versions", {"json": {"schema": "[" * 100_000}}),
    (
        "POST",
        "/subjects/x/versions",
        {"json": {"schema": '{"type":"record","name":"R","fields":[{"name":"a","type":"double","default":NaN}]}'}},
    ),
    ("POST", "/subjects/x/versions", {"json": {"schema": '{"type":"record","name":"R","fields":"nope"}'}}),
    ("POST", "/subjects/x/versions", {"json": {"schema": '{"type":"enum","name":"E","symbols":[1,2]}'}}),
    ("POST", "/subjects/x/versions", {"json": {"schema": '{"type":{"type":{"type":"int"}}}'}}),
    ("POST", "/subjects/x/versions", {"json": {"schema": '"int"', "references": [None, 1, "x"]}}),
    ("POST", "/subjects/x/versions", {"json": {"schema": '"int"', "schemaType": 5}}),
    ("POST", "/subjects/x/versions", {"json": {"schema": '"int"', "id": "not-an-id"}}),
    ("POST", "/subjects/x", {"content": b"\x00\x01"}),
    ("POST", "/subjects/x/versions", {"json": {"schema": '{"type":"error","name":"E","fields":[]}'}}),
    ("POST", "/subjects/x/versions", {"json": {"schema": json.dumps({"type": "string", "doc": '"' * 300_000})}}),
    ("POST", "/compatibility/subjects/x/versions/latest", {"json": {"schema": 5}}),
    ("POST", "/compatibility/subjects/x/versions/latest?verbose=true", {"json": {"schema": '"int"'}}),
    ("PUT", "/config", {"json": {"compatibility": ["FULL"]}}),
    ("PUT", "/config/x", {"json": {"compatibility": None}}),
    ("PUT", "/mode", {"json": {"mode": {"READONLY": True}}}),
    ("PUT", "/mode?force=yes", {"content": b""}),
    ("DELETE", "/subjects/x/versions/latest?permanent=TRUE", {}),
    ("DELETE", "/mode/x", {}),
    ("DELETE", "/mode", {}),
    ("HEAD", "/subjects/x/versions", {}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), BAD_REQUESTS)
def test_bad_input_never_causes_a_500(http: httpx.Client, method: str, path: str, kwargs: dict[str, Any]) -> None:
    response = http.request(method, path, **kwargs)
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 400 and method != "HEAD":
        assert isinstance(response.json()["error_code"], int)
        assert response.json()["message"]


def test_metrics_count_requests_by_endpoint_and_status(http: httpx.Client, subject: str) -> None:
    http.get(f"/subjects/{subject}/versions/77")
    text = http.get("/metrics").text
    line = 'govbus_registry_requests_total{endpoint="/subjects/{subject}/versions/{version}",method="GET",status="404"}'
    assert line in text
    assert "govbus_registry_is_primary 1.0" in text
    assert "govbus_registry_schemas_registered_total" in text


def test_unreachable_kafka_is_a_startup_error(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(StartupTimeoutError) as caught:
        start_registry_process("127.0.0.1:1", port, tmp_path / "registry.log", timeout=6)
    assert "not ready after 6 s" in str(caught.value) and "Connection refused" in str(caught.value), \
        "the error names the wait and shows the log tail with the cause"
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/subjects", timeout=2)


def test_storage_failure_is_a_50001_json_error(
    start_registry: Callable[..., RegistryProcess],
    registry_topic: str,
    kafka_bootstrap: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOVBUS_REGISTRY_WRITE_TIMEOUT", "3")  # the child process inherits it
    process = start_registry(registry_topic)
    with httpx.Client(base_url=process.url, timeout=30) as http:
        assert http.post("/subjects/ok-value/versions", json=body(V1)).status_code == 200
        admin = clients.admin(kafka_at(kafka_bootstrap))
        admin.delete_topics([registry_topic])[registry_topic].result(timeout=30)
        expect(http.post("/subjects/lost-value/versions", json=body(V1)), 500, 50001, registry_topic)
        assert http.get("/subjects").json() == ["ok-value"]  # reads still served from memory
