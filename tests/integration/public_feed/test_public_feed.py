"""The public feed against a real broker and registry, run as ``python -m connectors.public_feed``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from feed_support import FeedProcess, Published

from connectors.public_feed.disclosure import public_record
from govbus.demo.synthetic_items import records_for
from govbus.envelope import envelope_schema
from govbus.topic_names import canonical_topic
from testsupport.canonical import CanonicalWriter, Step

ATOM = "{http://www.w3.org/2005/Atom}"


def all_pages(feed: FeedProcess, **params: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every entry, following ``next`` links from page 1; and every page body."""
    bodies = [feed.get("/feed", **params).json()]
    while bodies[-1]["links"]["next"]:
        bodies.append(feed.get("/feed" + bodies[-1]["links"]["next"].split("/feed", 1)[1]).json())
    return [entry for body in bodies for entry in body["entries"]], bodies


def as_expected(entries: list[dict[str, Any]]) -> list[tuple[str, str, str, dict[str, Any]]]:
    return [(e["published_at"], e["item"], e["record_key"], e["record"]) for e in entries]


def test_feed_pages_newest_first_with_links(feed: FeedProcess, published: Published) -> None:
    entries, bodies = all_pages(feed, per_page=25)
    expected = published.expected()
    assert as_expected(entries) == expected
    assert len(bodies) == -(-len(expected) // 25) and bodies[0]["pages"] == len(bodies)
    assert bodies[0]["total"] == len(expected) and bodies[0]["links"]["prev"] is None
    assert bodies[1]["links"]["prev"] == bodies[0]["links"]["self"]
    assert bodies[-1]["links"]["next"] is None
    assert all(entry["item"] != "identity_verification" for entry in entries)
    assert {entry["item"] for entry in entries} == {i for i in published.items if i != "identity_verification"}

    one, _ = all_pages(feed, item="credit_record", per_page=7)
    assert as_expected(one) == published.expected("credit_record")


def test_atom_feed_parses_with_the_page_entries(feed: FeedProcess, published: Published) -> None:
    response = feed.get("/feed.atom", per_page=30, page=2)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated"):
        assert (root.findtext(f"{ATOM}{tag}") or "").strip()
    rels = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert {"self", "first", "last", "next", "previous"} <= set(rels)
    page = feed.get("/feed", per_page=30, page=2).json()["entries"]
    atom_entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in atom_entries] == [f"urn:uuid:{entry['id']}" for entry in page]
    assert [e.findtext(f"{ATOM}updated") for e in atom_entries] == [entry["published_at"] for entry in page]
    assert root.findtext(f"{ATOM}updated") == page[0]["published_at"]
    for element, entry in zip(atom_entries, page, strict=True):
        assert entry["record_key"] in (element.findtext(f"{ATOM}title") or "")
        content = element.find(f"{ATOM}content")
        assert content is not None and content.get("type") == "text"
        assert json.loads(content.text or "")["record"] == entry["record"]

    one = ET.fromstring(feed.get("/feed.atom", item="mining_right_transfer").content)
    assert {c.get("term") for c in one.iter(f"{ATOM}category")} == {"mining_right_transfer"}


def test_no_personal_field_appears_anywhere(feed: FeedProcess, published: Published) -> None:
    outputs = [json.dumps(feed.get("/feed", per_page=500, page=n).json(), ensure_ascii=False) for n in (1, 2)]
    outputs += [feed.get("/feed.atom", per_page=500, page=n).text for n in (1, 2)]
    outputs += [feed.get("/feed", item=name, per_page=500).text for name, item in published.items.items()
                if item.open_to_public]
    text = "\n".join(outputs)
    open_items = [item for item in published.items.values() if item.open_to_public]
    records = {item.name: [s.record for s in published.steps[item.name] if s.record] for item in open_items}
    public_values = {str(v) for item in open_items for r in records[item.name] for f, v in r.items()
                     if f not in item.personal_fields}  # e.g. a synthetic address equal to another item's name
    checked = 0
    for item in open_items:
        for personal in item.personal_fields:
            assert f'"{personal}"' not in text, f"{item.name}.{personal} appears as a field"
            values = {str(r[personal]) for r in records[item.name] if r.get(personal)} - public_values
            leaked = [v for v in values if len(v) >= 2 and v in text]
            assert not leaked, f"{item.name}.{personal} values appear: {leaked[:3]}"
            checked += len(values)
    assert checked > 100  # names and identity numbers of affordable housing and credit records


def test_bad_parameters_are_400_json(feed: FeedProcess) -> None:
    cases = {
        "page=0": "page", "page=abc": "page", "page=1.5": "page", "page=-1": "page", "per_page=0": "per_page",
        "per_page=100000": "per_page", "item=identity_verification": "item", "item=no_such_item": "item",
        "sort=oldest": "sort", "page=1&page=2": "page",
    }
    for path in ("/feed", "/feed.atom"):
        for query, parameter in cases.items():
            response = httpx_get(feed, f"{path}?{query}")
            assert response.status_code == 400, (path, query, response.text)
            body = response.json()
            assert body["error"] == "bad_parameter" and body["parameter"] == parameter, body
            assert body["message"]
    assert "credit_record" in httpx_get(feed, "/feed?item=identity_verification").json()["allowed"]
    past = httpx_get(feed, "/feed?page=999")
    assert past.status_code == 404 and past.json()["error"] == "no_such_page" and "page=" in past.json()["last"]
    missing = httpx_get(feed, "/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert "govbus_feed_requests_total" in feed.get("/metrics").text


def httpx_get(feed: FeedProcess, path_and_query: str) -> Any:
    return feed.get(path_and_query)


def test_updates_replace_and_deletes_remove_while_serving(feed: FeedProcess, published: Published) -> None:
    item = "government_procurement_award"
    current = published.expected(item)
    newest_key, oldest_key = current[0][2], current[-1][2]
    record = next(s.record for s in reversed(published.steps[item]) if s.key == oldest_key and s.record)
    published.write(item, [Step("UPSERT", oldest_key, {**record, "project_name": "更正公告后的项目"}),
                           Step("DELETE", newest_key)])
    expected = published.expected()
    feed.wait_loaded(len(expected))
    # the update and the delete are on different partitions: the count can match before the update is read
    deadline = time.monotonic() + 60
    while as_expected(all_pages(feed, per_page=200)[0]) != expected and time.monotonic() < deadline:
        time.sleep(0.3)
    first = feed.get("/feed", item=item, per_page=3).json()["entries"]
    assert first[0]["record_key"] == oldest_key and first[0]["record"]["project_name"] == "更正公告后的项目"
    assert newest_key not in {e["record_key"] for e in all_pages(feed, item=item, per_page=100)[0]}
    assert as_expected(all_pages(feed, per_page=200)[0]) == expected


def test_a_restarted_feed_rebuilds_the_same_state(feeds: Callable[..., FeedProcess], feed: FeedProcess,
                                                  published: Published) -> None:
    again = feeds()
    again.wait_loaded(len(published.expected()))
    assert all_pages(again, per_page=200)[0] == all_pages(feed, per_page=200)[0]


def test_refuses_to_serve_an_item_that_is_not_open(feed_env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "connectors.public_feed"], capture_output=True, text=True,
                          timeout=60, env={**_os_env(), **feed_env,
                                           "GOVBUS_FEED_ITEMS": "credit_record,identity_verification"})
    assert done.returncode == 2
    assert "identity_verification" in done.stderr and "not open to the public" in done.stderr


def test_a_field_the_catalogue_does_not_classify_is_not_disclosed(
        feed: FeedProcess, published: Published, feed_env: dict[str, str], kafka_bootstrap: str,
        registry_url: str) -> None:
    """Records written with a newer schema than the catalogue's, with a field added to it: the feed discloses
    by allowlist, so the new field stays out until the catalogue classifies it not personal."""
    item = published.items["credit_record"]
    record_schema = item.record_schema
    record_schema["fields"].append({"name": "subject_phone", "type": ["null", "string"], "default": None,
                                    "doc": "Phone of the counterpart."})
    writer = CanonicalWriter(kafka_bootstrap, registry_url, item,
                             canonical_topic(item.name, feed_env["GOVBUS_TOPIC_PREFIX"]),
                             event_schema=envelope_schema(record_schema, item.event_name))
    phones = [f"1390000{n:04d}" for n in range(3)]
    records = [item.validate(s.record) for s in records_for(item, 3, seed=77)]
    steps = published.stamp([Step("UPSERT", f"{item.key_of(r)}-new", {**r, "decision_number": f"{item.key_of(r)}-new",
                                                                      "subject_phone": phone})
                             for r, phone in zip(records, phones, strict=True)])
    writer.write(steps)
    published.steps[item.name].extend(steps)
    feed.wait_loaded(len(published.expected()))
    entries = {e["record_key"]: e for e in all_pages(feed, item=item.name, per_page=500)[0]}
    for step in steps:
        assert entries[step.key]["record"] == public_record(item, step.record or {})
        assert "subject_phone" not in entries[step.key]["record"]
        assert entries[step.key]["record"]["decision_number"] == step.key, "the classified fields are disclosed"
    text = feed.get("/feed", item=item.name, per_page=500).text + feed.get("/feed.atom", per_page=500).text
    assert not [phone for phone in phones if phone in text]
    for entry in all_pages(feed, per_page=500)[0]:
        assert set(entry["record"]) <= set(published.items[entry["item"]].not_personal_fields), entry["item"]


def _os_env() -> dict[str, str]:
    import os

    return dict(os.environ)
