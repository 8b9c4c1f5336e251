"""Hostile input against the live publishing paths and the session's broker: the HTTP gateway (its aiohttp app
served in process, over a real HTTP client) and the bulk file command (``load_file`` with a real Publisher).

Every batch mixes valid records, each sent once and never seen before, with hostile ones. The answer is never
a 5xx, a valid record in a batch that was read is accepted, and in the end every accepted valid record is on
the department topic exactly once, and no record of a refused body is there at all."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from hypothesis import given, note

from connectors.file_source import Rejection, load_file
from connectors.ingest_gateway.app import build_app
from connectors.ingest_gateway.keys import KeyStore, StoredKey, hash_key
from connectors.ingest_gateway.settings import GatewaySettings
from govbus.demo.synthetic import enterprise_registrations
from govbus.platform.processes import free_port
from govbus.publisher import Publisher, PublisherSettings
from govbus.topic_reader import read_topic
from schemas.catalogue import load_catalogue
from testsupport.connections import kafka_at
from testsupport.hostile import Hostile, budget, encoded, hostile, ran, shown, to_json_text

ITEM = "enterprise_registration"
KEY = "gbk_hostile-test-key"
MAX_BODY, MAX_RECORDS = 256 * 1024, 50


class Pool:
    """Valid records with keys nobody else sends, each handed out once."""

    def __init__(self, seed: int, count: int = 3000) -> None:
        item = load_catalogue().get(ITEM)
        records = {}
        for synthetic in enterprise_registrations(count, invalid_share=0.0, seed=seed):
            record = item.validate(synthetic.record)
            records[record["uscc"]] = {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in record.items()}
        self._records = iter(records.values())

    def take(self) -> dict[str, Any]:
        return next(self._records)


@contextmanager
def served(app: web.Application) -> Iterator[str]:
    """``app`` on a free port of 127.0.0.1, its event loop on a thread of its own; its URL."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="hostile-gateway", daemon=True)
    thread.start()
    runner = web.AppRunner(app, access_log=None)
    port = free_port()

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()

    asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture
def gateway(platform_env: dict[str, str], item_topics: Callable[..., str]) -> Iterator[tuple[str, str]]:
    """(URL, department topic) of a gateway serving market regulation with small limits."""
    topic = item_topics(ITEM)
    settings = GatewaySettings(gateway_max_body_bytes=MAX_BODY, gateway_max_batch_records=MAX_RECORDS,
                               gateway_ack_timeout_seconds=30)
    keys = KeyStore([StoredKey("market-regulation", "hostile", hash_key(KEY))])
    with served(build_app(settings, keys, load_catalogue())) as url:
        yield url, topic


def post(url: str, body: bytes, content_type: str = "application/json",
         headers: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.post(f"{url}/v1/items/{ITEM}/records", content=body, timeout=60,
                      headers={"Authorization": f"Bearer {KEY}", "Content-Type": content_type, **(headers or {})})


def keys_on(kafka_bootstrap: str, topic: str) -> Counter[str]:
    return Counter(message.key().decode() for message in read_topic(kafka_at(kafka_bootstrap), topic))


@dataclass
class Ledger:
    """What became of the valid records sent."""

    accepted: set[str] = field(default_factory=set)
    refused_bodies: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)

    def check_topic(self, on_topic: Counter[str]) -> None:
        assert self.accepted, "no valid record was accepted: the test sent nothing useful"
        twice = {key: n for key, n in on_topic.items() if key in self.accepted and n != 1}
        assert not twice, f"valid records stored more than once: {twice}"
        assert self.accepted <= set(on_topic), f"accepted but not stored: {self.accepted - set(on_topic)}"
        assert not self.refused_bodies & set(on_topic), "a record of a refused body was stored"


def hostile_batch(gen: Hostile, pool: Pool, bases: list[dict[str, Any]]) -> tuple[bytes, str, dict[int, str]]:
    """(body, content type, record number -> key of each valid record in it)."""
    entries: list[bytes] = []
    valid: dict[int, str] = {}
    for _ in range(gen.rng.randint(1, 8)):
        pick = gen.rng.random()
        if pick < 0.35:
            record = pool.take()
            valid[len(entries) + 1] = record["uscc"]
            entries.append(encoded(to_json_text(record)))
        elif pick < 0.8:
            entries.append(encoded(to_json_text(gen.record(gen.rng.choice(bases)))))
        else:
            entries.append(gen.json_body().replace(b"\n", b" "))  # one line each
    shape = gen.rng.random()
    if shape < 0.05:  # too many records, or too large a body: refused whole
        entries += [entries[-1]] * (MAX_RECORDS if gen.rng.random() < 0.5 else MAX_BODY // max(len(entries[-1]), 1))
    if shape < 0.55:
        return b"\n".join(entries), "application/x-ndjson", valid
    return b"[" + b",".join(entries) + b"]", "application/json", valid


def test_hostile_batches_never_get_a_5xx_and_valid_records_are_stored_once(
        gateway: tuple[str, str], kafka_bootstrap: str) -> None:
    url, topic = gateway
    pool, ledger = Pool(seed=101), Ledger()
    bases = [Pool(seed=202).take() for _ in range(5)]

    @budget("gateway.live")
    @given(hostile())
    def one_batch(gen: Hostile) -> None:
        ran("gateway.live")
        body, content_type, valid = hostile_batch(gen, pool, bases)
        headers = {"X-Source-System": gen.rng.choice([b"erp", b"\xff\xfe", "系统".encode(), b"x" * 300])}
        note(f"{content_type} {headers} {shown(body)}")
        response = post(url, body, content_type, headers)
        ledger.statuses[response.status_code] += 1
        assert response.status_code in (202, 400, 413, 422), response.text
        answer = response.json()
        if response.status_code in (400, 413):
            assert answer["error"] and answer["message"]
            ledger.refused_bodies |= set(valid.values())
            return
        results = {result["record"]: result for result in answer["results"]}
        for number, key in valid.items():
            assert results[number]["status"] == "accepted", results[number]
            ledger.accepted.add(key)
        for result in answer["results"]:
            assert result["status"] in ("accepted", "rejected"), result
            if result["status"] == "rejected":
                assert result["rule"] and result["message"]

    one_batch()
    assert len(ledger.statuses) > 2, f"the batches should meet several answers: {dict(ledger.statuses)}"
    ledger.check_topic(keys_on(kafka_bootstrap, topic))


def test_a_number_beyond_a_long_is_refused_before_anything_of_its_batch_is_produced(
        gateway: tuple[str, str], kafka_bootstrap: str) -> None:
    url, topic = gateway
    pool = Pool(seed=303)
    records = [pool.take(), pool.take(), {**pool.take(), "registered_capital_cents": 2**64}, pool.take()]
    body = "\n".join(json.dumps(record) for record in records).encode()
    for attempt in (1, 2):  # a client that sends the batch again
        response = post(url, body, "application/x-ndjson")
        assert response.status_code == 202, response.text
        assert [r["status"] for r in response.json()["results"]] == ["accepted", "accepted", "rejected", "accepted"]
        rejected = response.json()["results"][2]
        assert (rejected["field"], rejected["rule"]) == ("registered_capital_cents", "number.range")
        stored = keys_on(kafka_bootstrap, topic)
        assert sorted(stored.values()) == [attempt] * 3 and records[2]["uscc"] not in stored


def test_deep_json_a_nul_and_a_bad_delete_key_get_client_errors(gateway: tuple[str, str]) -> None:
    url, _ = gateway
    deep = post(url, b"[" * 100_000 + b"]" * 100_000)
    assert deep.status_code == 400 and deep.json()["error"] == "bad_body", deep.text
    record = Pool(seed=404).take()
    nul = post(url, json.dumps({**record, "name": "某\u0000公司"}).encode())
    assert nul.status_code == 422, nul.text
    [result] = nul.json()["results"]
    assert (result["field"], result["rule"]) == ("name", "text.control_character")
    deleted = httpx.delete(f"{url}/v1/items/{ITEM}/records/{record['uscc']}%00", headers={"X-API-Key": KEY},
                           timeout=30)
    assert deleted.status_code == 422 and deleted.json()["rule"] == "text.control_character", deleted.text
    header = post(url, json.dumps(record).encode(), headers={"X-Source-System": b"\xff"})
    assert header.status_code == 400 and header.json()["error"] == "bad_header", header.text


def test_hostile_files_are_loaded_line_by_line_and_valid_lines_stored_once(
        platform_env: dict[str, str], item_topics: Callable[..., str], kafka_bootstrap: str, tmp_path: Path) -> None:
    topic = item_topics(ITEM)
    pool, ledger = Pool(seed=505), Ledger()
    bases = [Pool(seed=606).take() for _ in range(5)]
    path = tmp_path / "hostile.jsonl"
    with Publisher("market-regulation", "hostile-files", settings=PublisherSettings()) as publisher:

        @budget("bulk.live")
        @given(hostile())
        def one_file(gen: Hostile) -> None:
            ran("bulk.live")
            lines, valid = [], {}
            for number in range(1, gen.rng.randint(2, 40)):
                if gen.rng.random() < 0.4:
                    record = pool.take()
                    valid[number] = record["uscc"]
                    lines.append(encoded(to_json_text(record)))
                else:
                    lines.append(gen.rng.choice([encoded(to_json_text(gen.record(gen.rng.choice(bases)))),
                                                 gen.json_body().replace(b"\n", b" ").replace(b"\r", b" ")]))
            path.write_bytes(b"\n".join(lines) + b"\n")
            note(shown(lines))
            report = load_file(publisher, ITEM, path, "jsonl")
            refused = {r.line: r for r in report.rejected}
            assert all(isinstance(r, Rejection) and r.rule and r.reason for r in report.rejected)
            assert not refused.keys() & valid.keys(), [refused[n] for n in refused.keys() & valid.keys()]
            assert report.accepted >= len(valid)
            ledger.accepted |= set(valid.values())

        one_file()
    ledger.check_topic(keys_on(kafka_bootstrap, topic))
