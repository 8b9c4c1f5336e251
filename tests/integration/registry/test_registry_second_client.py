"""The registry serves an independent Python registry client too, not only confluent-kafka's.

python-schema-registry-client (``schema_registry.client``) builds its URLs by itself, e.g. its global
compatibility calls are ``GET``/``PUT /config/`` with a trailing slash, which Confluent's registry answers and which
answered 404 here before every route accepted a trailing slash (:func:`schemas.registry.middleware.
trailing_slash_middleware`). It is driven against the session's registry, with HTTP basic authentication, through
every call it makes that the registry serves: register, get by id, versions, schema of a version, look-up, global
and subject compatibility (read and set), compatibility check, delete of a version and of a subject.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest
from schema_registry.client import SchemaRegistryClient, schema

from testsupport.connections import registry_at


def permit(*extra: dict[str, object]) -> dict[str, object]:
    fields = [{"name": "number", "type": "long"}, *extra]
    return {"type": "record", "name": "Permit", "namespace": "gov.permits", "fields": fields}


HOLDER = {"name": "holder", "type": "string"}
HOLDER_DEFAULT = {"name": "holder", "type": "string", "default": "unknown"}


@pytest.fixture
def auth(registry_url: str) -> httpx.BasicAuth:
    connection = registry_at(registry_url)
    assert connection.username and connection.password, "the session's registry asks for credentials"
    return httpx.BasicAuth(connection.username, connection.password.get_secret_value())


@pytest.fixture
def new_client(registry_url: str, auth: httpx.BasicAuth) -> Callable[[], SchemaRegistryClient]:
    """A new client each call: the client caches what it registered and read, so a fresh one asks the registry."""
    return lambda: SchemaRegistryClient(url=registry_url, auth=auth)


@pytest.fixture
def global_level_restored(new_client: Callable[[], SchemaRegistryClient]) -> Iterator[str]:
    """The registry's global compatibility level, set back after the test (other tests of this worker share it)."""
    level = new_client().get_compatibility()
    yield level
    assert new_client().update_compatibility(level)


def test_the_second_client_registers_reads_checks_and_deletes(
    new_client: Callable[[], SchemaRegistryClient], unique_name: Callable[[str], str], global_level_restored: str,
) -> None:
    client = new_client()
    subject = unique_name("permits-value")

    # global compatibility: GET and PUT /config/
    assert global_level_restored in {"BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL",
                                      "FULL_TRANSITIVE", "NONE"}
    assert client.update_compatibility("FULL")
    assert new_client().get_compatibility() == "FULL"

    # register, then read back with a client that has nothing cached
    first = client.register(subject, schema.AvroSchema(permit()))
    reader = new_client()
    by_id = reader.get_by_id(first)
    assert by_id is not None and by_id.raw_schema == permit()
    assert reader.get_versions(subject) == [1]
    version = reader.get_schema(subject, 1)
    assert version is not None and (version.subject, version.version, version.schema_id) == (subject, 1, first)
    found = reader.check_version(subject, schema.AvroSchema(permit()))
    assert found is not None and found.schema_id == first
    assert [entry.subject for entry in reader.get_schema_subject_versions(first) or []] == [subject]
    assert subject in reader.get_subjects()

    # subject compatibility: PUT and GET /config/{subject}, and checks against the latest version
    assert client.update_compatibility("BACKWARD", subject)
    assert new_client().get_compatibility(subject) == "BACKWARD"
    assert client.test_compatibility(subject, schema.AvroSchema(permit(HOLDER_DEFAULT))) is True
    assert client.test_compatibility(subject, schema.AvroSchema(permit(HOLDER))) is False
    second = client.register(subject, schema.AvroSchema(permit(HOLDER_DEFAULT)))
    assert second != first and new_client().get_versions(subject) == [1, 2]

    # deletes: one version, then the subject
    assert client.delete_version(subject, 2) == 2
    assert new_client().get_versions(subject) == [1]
    assert client.delete_subject(subject) == [1]
    assert subject not in new_client().get_subjects()


SLASHED = [("GET", "/subjects/"), ("GET", "/config/"), ("GET", "/schemas/types/"), ("GET", "/contexts/"),
           ("GET", "/mode/")]


@pytest.mark.parametrize(("method", "path"), SLASHED)
def test_routes_answer_with_a_trailing_slash_as_without(
    registry_url: str, auth: httpx.BasicAuth, method: str, path: str,
) -> None:
    with httpx.Client(base_url=registry_url, auth=auth, timeout=20) as http:
        slashed, plain = http.request(method, path), http.request(method, path.rstrip("/") or "/")
    assert (slashed.status_code, slashed.json()) == (plain.status_code, plain.json()) and plain.status_code == 200


def test_a_write_with_a_trailing_slash_is_the_route_without_it(
    registry_url: str, auth: httpx.BasicAuth, unique_name: Callable[[str], str],
) -> None:
    """A POST and a DELETE with a trailing slash reach their routes (no redirect a client would have to follow, body
    and all); a path that matches no route keeps its 404; /metrics counts them under the route's own template."""
    subject = unique_name("slashed-value")
    body = {"schema": json.dumps(permit())}
    with httpx.Client(base_url=registry_url, auth=auth, timeout=20) as http:
        registered = http.post(f"/subjects/{subject}/versions/", json=body)
        assert registered.status_code == 200, registered.text
        looked_up = http.post(f"/subjects/{subject}/", json=body)
        assert looked_up.status_code == 200 and looked_up.json()["id"] == registered.json()["id"]
        assert http.get(f"/subjects/{subject}/versions/1/").json()["id"] == registered.json()["id"]
        assert http.delete(f"/subjects/{subject}/").json() == [1]
        missing = http.get("/no-such-route/")
        assert missing.status_code == 404 and missing.json()["error_code"] == 404
        metrics = http.get("/metrics").text
    assert 'endpoint="/subjects/{subject}/versions"' in metrics
    assert 'endpoint="/subjects/{subject}/versions/"' not in metrics
