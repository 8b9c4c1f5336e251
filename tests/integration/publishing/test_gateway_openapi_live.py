"""The gateway's OpenAPI document against the gateway itself, run as ``python -m connectors.ingest_gateway``:
it serves the committed document at /openapi.json, and schemathesis' generated requests (with a department's
key, half of them to an item that department publishes) get only documented answers, none a 5xx."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.schemas import APIOperation

from connectors.ingest_gateway.keys import add_key
from connectors.ingest_gateway.openapi import EXAMPLE_ITEM
from govbus.catalogue_topics import sync_topics
from schemas.catalogue import load_catalogue
from testsupport.connections import kafka_at
from testsupport.gateway import running_gateway
from testsupport.openapi_runs import exercise

DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "openapi" / "gateway.json"
PER_OPERATION = 100


@dataclass
class Gateway:
    url: str
    key: str


@pytest.fixture(scope="module")
def gateway(kafka_bootstrap: str, registry_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway on a topic prefix of this module's own, with a key of market regulation (which publishes
    enterprise registrations)."""
    directory = tmp_path_factory.mktemp("gateway-openapi")
    prefix = f"govbus.t-{uuid.uuid4().hex[:10]}"
    sync_topics(kafka_at(kafka_bootstrap), [load_catalogue().get(EXAMPLE_ITEM)], prefix, 1)
    env = {"GOVBUS_KAFKA__BOOTSTRAP": kafka_bootstrap, "GOVBUS_REGISTRY__URL": registry_url,
           "GOVBUS_TOPIC_PREFIX": prefix}
    keys_file = directory / "keys.json"
    key = add_key(keys_file, "market-regulation", "openapi")
    env.update({"GOVBUS_GATEWAY_KEYS_FILE": str(keys_file), "GOVBUS_GATEWAY_MAX_BODY_BYTES": str(64 * 1024),
                "GOVBUS_GATEWAY_MAX_BATCH_RECORDS": "50"})
    with running_gateway(env, directory / "gateway.log") as url:
        yield Gateway(url, key)


def test_the_gateway_serves_the_committed_document(gateway: Gateway) -> None:
    response = httpx.get(f"{gateway.url}/openapi.json", timeout=10)  # public: no key
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    assert response.json() == json.loads(DOCUMENT.read_text(encoding="utf-8"))


def _own_item(operation: APIOperation) -> list[Mapping[str, Any]]:
    """Requests to the item the key's department publishes, so they reach validation and the broker."""
    return [{"path_parameters": {"item": EXAMPLE_ITEM}}] if "item" in operation.path_parameters else []


def test_generated_requests_get_documented_answers(gateway: Gateway) -> None:
    schema = schemathesis.openapi.from_dict(httpx.get(f"{gateway.url}/openapi.json", timeout=10).json())
    tally = exercise(schema, gateway.url, PER_OPERATION, headers={"Authorization": f"Bearer {gateway.key}"},
                     steering=_own_item)
    assert tally.total >= 200 and not tally.untried, tally.requests
    posted = tally.codes("POST /v1/items/{item}/records")
    assert {202, 422} <= posted, tally.statuses  # records accepted, and records rejected: the handler was reached
    assert 202 in tally.codes("DELETE /v1/items/{item}/records/{key}"), tally.statuses


def test_what_schemathesis_found_stays_fixed(gateway: Gateway) -> None:
    """A 405 names the methods allowed (RFC 9110's Allow header; it was missing), and an empty X-Source-System
    header is refused as the document says (it was accepted, and the events' source system was empty)."""
    refused = httpx.request("TRACE", f"{gateway.url}/healthz", timeout=10)
    assert refused.status_code == 405 and refused.headers["Allow"] == "GET,HEAD", refused.headers
    assert refused.json()["message"] == "TRACE is not allowed here; use GET, HEAD"
    empty = httpx.delete(f"{gateway.url}/v1/items/{EXAMPLE_ITEM}/records/91330106Y4CL12TH3F", timeout=30,
                         headers={"Authorization": f"Bearer {gateway.key}", "X-Source-System": ""})
    assert empty.status_code == 400 and empty.json()["error"] == "bad_header", empty.text
    assert "is empty" in empty.json()["message"]
