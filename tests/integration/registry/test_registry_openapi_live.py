"""The registry's OpenAPI document against a registry of this module's own (HTTP Basic on, a fresh log topic: the
generated requests change modes and levels and delete subjects): it serves the committed document at
/openapi.json without credentials, and schemathesis' generated requests (as the administrator; some steered to a
subject, version and id that exist) get only documented answers, none a 5xx."""

from __future__ import annotations

import base64
import json
import os
import secrets
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.schemas import APIOperation

from govbus.platform.processes import free_port
from govbus.platform.registry_process import RegistryProcess, start_registry_process
from schemas.registry.openapi import EXAMPLE_SCHEMA
from testsupport.openapi_runs import exercise

DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "openapi" / "registry.json"
SUBJECT = "gov.people-value"
PER_OPERATION = 8


@dataclass
class Registry:
    process: RegistryProcess
    authorization: str
    schema_id: int

    @property
    def url(self) -> str:
        return self.process.url


@pytest.fixture(scope="module")
def registry(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A registry whose only principal is an administrator, with one schema registered under :data:`SUBJECT`."""
    directory = tmp_path_factory.mktemp("registry-openapi")
    password = secrets.token_urlsafe(16)
    credentials = directory / "credentials.json"
    descriptor = os.open(credentials, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump({"admin": {"username": "admin", "password": password}}, file)
    process = start_registry_process(kafka_bootstrap, free_port(), directory / "registry.log",
                                     topic=f"_govbus_schemas_openapi_{uuid.uuid4().hex[:10]}",
                                     credentials_file=credentials)
    authorization = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()
    try:
        registered = httpx.post(f"{process.url}/subjects/{SUBJECT}/versions", json={"schema": EXAMPLE_SCHEMA},
                                headers={"Authorization": authorization}, timeout=30)
        assert registered.status_code == 200, registered.text
        yield Registry(process, authorization, registered.json()["id"])
    finally:
        process.stop()


def test_the_registry_serves_the_committed_document_without_credentials(registry: Registry) -> None:
    response = httpx.get(f"{registry.url}/openapi.json", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    assert response.json() == json.loads(DOCUMENT.read_text(encoding="utf-8"))
    refused = httpx.get(f"{registry.url}/subjects", timeout=10)
    assert refused.status_code == 401 and refused.json()["error_code"] == 40101  # the rest is not public


def test_generated_requests_get_documented_answers(registry: Registry) -> None:
    def existing(operation: APIOperation) -> list[Mapping[str, Any]]:
        """Requests to the subject, version and id that exist, so they reach the handlers' inner paths."""
        known = {"subject": SUBJECT, "version": 1, "id": registry.schema_id}
        fixed = {name: value for name, value in known.items() if name in operation.path_parameters}
        return [{"path_parameters": fixed}] if fixed else []

    schema = schemathesis.openapi.from_dict(httpx.get(f"{registry.url}/openapi.json", timeout=10).json())
    tally = exercise(schema, registry.url, PER_OPERATION, headers={"Authorization": registry.authorization},
                     steering=existing)
    assert tally.total >= 200 and not tally.untried, tally.requests
    assert 200 in tally.codes("GET /subjects/{subject}/versions/{version}"), tally.statuses
    assert 200 in tally.codes("POST /subjects/{subject}/versions"), tally.statuses


def test_what_schemathesis_found_stays_fixed(registry: Registry) -> None:
    """A 405 names the methods allowed (RFC 9110's Allow header; it was missing), and a reference's version may be
    a whole number written as 1.0 (JSON Schema's integer, as the document says; it was refused)."""
    headers = {"Authorization": registry.authorization}
    refused = httpx.request("TRACE", f"{registry.url}/subjects", headers=headers, timeout=10)
    assert refused.status_code == 405 and refused.headers["Allow"] == "GET,HEAD", refused.headers
    assert refused.json()["error_code"] == 405
    subject = f"gov.people-{uuid.uuid4().hex[:8]}-value"  # the generated requests may have deleted SUBJECT
    assert httpx.put(f"{registry.url}/mode", headers=headers, json={"mode": "READWRITE"}, timeout=30).is_success
    registered = httpx.post(f"{registry.url}/subjects/{subject}/versions", headers=headers, timeout=30,
                            json={"schema": EXAMPLE_SCHEMA})
    assert registered.status_code == 200, registered.text
    holder = {"type": "record", "name": "Holder", "namespace": "gov.people",
              "fields": [{"name": "person", "type": "gov.people.Person"}]}
    references = [{"name": "gov.people.Person", "subject": subject, "version": 1.0}]
    answer = httpx.post(f"{registry.url}/compatibility/subjects/gov.holders-value/versions", headers=headers,
                        json={"schema": json.dumps(holder), "references": references}, timeout=30)
    assert answer.status_code == 200 and answer.json() == {"is_compatible": True}, answer.text
