"""The HTTP ingest gateway as a real process, driven by a real HTTP client."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.ingest_gateway.keys import add_key
from govbus import clients
from govbus.demo.synthetic import enterprise_registrations
from govbus.serde import WireDecoder
from govbus.topic_reader import read_topic
from testsupport.connections import kafka_at, registry_at
from testsupport.gateway import running_gateway

ITEM = "enterprise_registration"


@dataclass
class Gateway:
    url: str
    market_key: str
    tax_key: str
    topic: str

    def post(self, body: bytes | str, key: str | None, content_type: str = "application/json",
             item: str = ITEM, headers: dict[str, str | bytes] | None = None) -> httpx.Response:
        sent: dict[str, str | bytes] = {"Content-Type": content_type, **(headers or {})}
        if key:
            sent["Authorization"] = f"Bearer {key}"
        raw = {name.encode(): value if isinstance(value, bytes) else value.encode() for name, value in sent.items()}
        return httpx.post(f"{self.url}/v1/items/{item}/records", content=body, headers=raw, timeout=60)


@pytest.fixture
def gateway(platform_env: dict[str, str], item_topics: Callable[..., str], tmp_path: Path) -> Iterator[Gateway]:
    topic = item_topics(ITEM)
    keys_file = tmp_path / "keys.json"
    market_key = add_key(keys_file, "market-regulation", "test")
    tax_key = add_key(keys_file, "taxation", "test")
    env = {**platform_env, "GOVBUS_GATEWAY_KEYS_FILE": str(keys_file), "GOVBUS_GATEWAY_MAX_BODY_BYTES": str(64 * 1024)}
    with running_gateway(env, tmp_path / "gateway.log") as url:
        yield Gateway(url, market_key, tax_key, topic)


def _records(count: int, seed: int) -> list[dict[str, Any]]:
    return [{k: v.isoformat() if isinstance(v, dt.date) else v for k, v in s.record.items()}
            for s in enterprise_registrations(count, invalid_share=0.0, seed=seed)]


def _lines(records: list[dict[str, Any]]) -> str:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in records)


def test_one_record_is_accepted_after_the_broker_acknowledged(gateway: Gateway, kafka_bootstrap: str) -> None:
    record = _records(1, seed=1)[0]
    response = gateway.post(json.dumps(record), gateway.market_key)
    assert response.status_code == 202, response.text
    [result] = response.json()["results"]
    assert result["status"] == "accepted" and result["key"] == record["uscc"]
    [message] = read_topic(kafka_at(kafka_bootstrap), gateway.topic)
    assert (message.partition(), message.offset()) == (result["partition"], result["offset"])


def test_a_batch_keeps_its_valid_records_and_says_which_were_rejected(gateway: Gateway, kafka_bootstrap: str) -> None:
    records = _records(6, seed=2)
    records[2] = {**records[2], "uscc": "123"}
    records[4] = {**records[4], "established_on": "not a date"}
    body = _lines(records[:3]) + "\n{broken json\n" + _lines(records[3:])
    response = gateway.post(body, gateway.market_key, content_type="application/x-ndjson")
    assert response.status_code == 202, response.text
    payload = response.json()
    assert (payload["accepted"], payload["rejected"]) == (4, 3)
    statuses = [(r["record"], r["status"], r.get("field")) for r in payload["results"]]
    assert statuses == [(1, "accepted", None), (2, "accepted", None), (3, "rejected", "uscc"),
                        (4, "rejected", ""), (5, "accepted", None), (6, "rejected", "established_on"),
                        (7, "accepted", None)]
    stored = {m.key().decode() for m in read_topic(kafka_at(kafka_bootstrap), gateway.topic)}
    assert stored == {r["key"] for r in payload["results"] if r["status"] == "accepted"}


def test_bad_requests_get_json_errors_that_say_what_to_fix(gateway: Gateway) -> None:
    record = json.dumps(_records(1, seed=3)[0])
    cases = {
        "no key": (gateway.post(record, None), 401, "unauthorized"),
        "wrong key": (gateway.post(record, "gbk_not-a-real-key"), 401, "unauthorized"),
        "foreign item": (gateway.post(record, gateway.tax_key), 403, "forbidden"),
        "unknown item": (gateway.post(record, gateway.market_key, item="no_such_item"), 404, "unknown_item"),
        "malformed": (gateway.post("{oops", gateway.market_key), 400, "bad_body"),
        "too large": (gateway.post(_lines(_records(300, seed=4)), gateway.market_key,
                                   content_type="application/x-ndjson"), 413, "body_too_large"),
        "all invalid": (gateway.post(json.dumps({"uscc": "bad"}), gateway.market_key), 422, None),
    }
    for name, (response, status, code) in cases.items():
        assert response.status_code == status, (name, response.text)
        body = response.json()
        if code:
            assert body["error"] == code, name
        assert body.get("message"), name
    invalid = cases["all invalid"][0].json()
    assert invalid["accepted"] == 0 and invalid["results"][0]["field"]


def test_delete_is_published(gateway: Gateway, kafka_bootstrap: str) -> None:
    key = _records(1, seed=5)[0]["uscc"]
    response = httpx.delete(f"{gateway.url}/v1/items/{ITEM}/records/{key}",
                            headers={"X-API-Key": gateway.market_key}, timeout=30)
    assert response.status_code == 202, response.text
    [message] = read_topic(kafka_at(kafka_bootstrap), gateway.topic)
    assert message.key().decode() == key and message.offset() == response.json()["offset"]


def test_metrics_count_requests_and_records(gateway: Gateway) -> None:
    gateway.post(json.dumps(_records(1, seed=6)[0]), gateway.market_key)
    text = httpx.get(f"{gateway.url}/metrics", timeout=5).text
    assert 'govbus_gateway_records_total{item="enterprise_registration",outcome="accepted"} 1.0' in text
    assert 'govbus_gateway_requests_total{status="202"} 1.0' in text


def _event_ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 202, response.text
    return [result["event_id"] for result in response.json()["results"]]


def test_a_batch_sent_again_with_its_idempotency_key_keeps_its_event_ids(
    gateway: Gateway, kafka_bootstrap: str, registry_url: str,
) -> None:
    """What a client does after a 503 or no answer: the records stored the first time and again carry one event
    id each, which the normaliser drops the second time (its dedup is tested with the normaliser's flow, and with
    the gateway in test_gateway_resend_live)."""
    body = json.dumps(_records(3, seed=7))
    first = _event_ids(gateway.post(body, gateway.market_key, headers={"Idempotency-Key": "batch-7"}))
    again = _event_ids(gateway.post(body, gateway.market_key, headers={"Idempotency-Key": "batch-7"}))
    assert first == again and len(set(first)) == 3
    other_key = _event_ids(gateway.post(body, gateway.market_key, headers={"Idempotency-Key": "batch-8"}))
    assert not set(other_key) & set(first) and len(set(other_key)) == 3
    no_key = [_event_ids(gateway.post(body, gateway.market_key)) for _ in range(2)]
    assert len(set(no_key[0]) | set(no_key[1]) | set(first) | set(other_key)) == 12  # random ids, as before

    decoder = WireDecoder(clients.registry_client(registry_at(registry_url)))
    stored = Counter(str(decoder.decode(m.value()).value["event_id"])
                     for m in read_topic(kafka_at(kafka_bootstrap), gateway.topic))
    assert sum(stored.values()) == 15
    assert {event_id: stored[event_id] for event_id in first} == dict.fromkeys(first, 2)
    assert all(stored[event_id] == 1 for event_id in [*other_key, *no_key[0], *no_key[1]])


def test_a_bad_idempotency_key_is_refused_before_any_record_is_sent(gateway: Gateway, kafka_bootstrap: str) -> None:
    record = json.dumps(_records(1, seed=8)[0])
    cases: dict[str | bytes, str] = {
        "": "is empty",
        "k" * 256: "is longer than 255 characters",
        "batch\t7": "character 6 is U+0009",
        "clé".encode(): "character 3 is U+00E9",
        b"\xff": "character 1 is U+",
    }
    for key, reason in cases.items():
        response = gateway.post(record, gateway.market_key, headers={"Idempotency-Key": key})
        assert response.status_code == 400, (key, response.text)
        refusal = response.json()
        assert refusal["error"] == "bad_header", (key, refusal)
        assert refusal["message"].startswith(f"header Idempotency-Key: {reason}"), (key, refusal)
        assert "printable ASCII" in refusal["message"]
    # other control characters never reach the gateway: aiohttp's HTTP parser refuses the request (not as JSON)
    assert gateway.post(record, gateway.market_key, headers={"Idempotency-Key": "batch\x017"}).status_code == 400
    assert _event_ids(gateway.post(record, gateway.market_key, headers={"Idempotency-Key": "k" * 255}))
    assert len(read_topic(kafka_at(kafka_bootstrap), gateway.topic)) == 1  # only the last one's record
