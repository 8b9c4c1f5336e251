"""The feed's OpenAPI document against the feed itself, run as ``python -m connectors.public_feed`` over two open
items with records: it serves the committed document at /openapi.json, and schemathesis' generated requests (some
of them steered to a served item and to pages that exist) get only documented answers, none a 5xx."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from feed_support import FeedProcess, start_feed
from schemathesis.schemas import APIOperation

from govbus.catalogue_topics import sync_topics
from govbus.topic_names import canonical_topic
from schemas.catalogue import load_catalogue
from testsupport.canonical import CanonicalWriter, change_scenario
from testsupport.connections import kafka_at
from testsupport.openapi_runs import exercise

DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "openapi" / "feed.json"
ITEMS = {"government_procurement_award": 40, "credit_record": 15}
"""the items served, and how many keys each has"""
PER_OPERATION = 100


@pytest.fixture(scope="module")
def feed(kafka_bootstrap: str, registry_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FeedProcess]:
    prefix = f"govbus.t-{uuid.uuid4().hex[:10]}"
    catalogue = load_catalogue()
    items = [catalogue.get(name) for name in ITEMS]
    sync_topics(kafka_at(kafka_bootstrap), items, prefix, partitions=1)
    for seed, item in enumerate(items):
        writer = CanonicalWriter(kafka_bootstrap, registry_url, item, canonical_topic(item.name, prefix))
        writer.write(change_scenario(item, keys=ITEMS[item.name], updates=3, deletes=1, seed=seed))
    env = {"GOVBUS_KAFKA__BOOTSTRAP": kafka_bootstrap, "GOVBUS_REGISTRY__URL": registry_url,
           "GOVBUS_TOPIC_PREFIX": prefix, "GOVBUS_FEED_ITEMS": ",".join(ITEMS)}
    process = start_feed(env, tmp_path_factory.mktemp("feed-openapi") / "feed.log")
    try:
        process.wait_loaded(sum(ITEMS.values()) - len(ITEMS))  # one delete per item
        yield process
    finally:
        process.stop()


def test_the_feed_serves_the_committed_document(feed: FeedProcess) -> None:
    response = feed.get("/openapi.json")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    assert response.json() == json.loads(DOCUMENT.read_text(encoding="utf-8"))


def _served_pages(operation: APIOperation) -> list[Mapping[str, Any]]:
    """Requests for a served item and for pages that exist, so they reach the pages, not only the refusals."""
    if "page" not in operation.query:
        return []
    return [{"query": {"item": "credit_record"}}, {"query": {"page": 1}},
            {"query": {"item": "government_procurement_award", "page": 2, "per_page": 7}}]


def test_generated_requests_get_documented_answers(feed: FeedProcess) -> None:
    schema = schemathesis.openapi.from_dict(feed.get("/openapi.json").json())
    tally = exercise(schema, feed.url, PER_OPERATION, steering=_served_pages)
    assert tally.total >= 200 and not tally.untried, tally.requests
    for path in ("/feed", "/feed.atom"):
        assert {200, 400, 404} <= tally.codes(f"GET {path}"), tally.statuses


def test_a_page_is_answered_as_documented(feed: FeedProcess) -> None:
    """A sanity check of the steering: a page of the served items, with next and prev links."""
    with httpx.Client(base_url=feed.url, timeout=10) as client:
        body = client.get("/feed", params={"page": 2, "per_page": 7}).json()
    assert body["page"] == 2 and len(body["entries"]) == 7 and body["links"]["prev"] and body["links"]["next"]


def test_a_405_names_the_methods_allowed(feed: FeedProcess) -> None:
    """RFC 9110's Allow header (schemathesis found it missing)."""
    refused = httpx.request("TRACE", f"{feed.url}/feed", timeout=10)
    assert refused.status_code == 405 and refused.headers["Allow"] == "GET,HEAD", refused.headers
