"""A batch the broker stored twice reaches the canonical topic once: the issue #14 province fault (a broker restart
while the gateway waits for its acknowledgement; the gateway answers 503, or the client gets no answer, and the
client sends the batch again), with the gateway and a normaliser worker as real processes, stopped by PID.

Sent again with its Idempotency-Key, every record carries the event id it had the first time, and the normaliser
drops the second copy; sent again without one, both copies reach the canonical topic (what the scenario measured).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from connectors.ingest_gateway.keys import add_key
from govbus import clients
from govbus.demo.synthetic import enterprise_registrations
from govbus.platform import processes
from govbus.serde import WireDecoder
from govbus.topic_names import canonical_topic
from govbus.topic_reader import read_topic
from streams.normalising.settings import NormaliserSettings
from streams.normalising.topics import ensure_normaliser_topics
from testsupport.connections import kafka_at, registry_at
from testsupport.gateway import running_gateway

ITEM = "enterprise_registration"
RECORDS = 5


@pytest.fixture
def normaliser(platform_env: dict[str, str], kafka_bootstrap: str, registry_url: str,
               tmp_path: Path) -> Iterator[tuple[NormaliserSettings, int]]:
    """A normaliser worker of enterprise registrations on the test's topic prefix: (its settings, its metrics
    port)."""
    settings = NormaliserSettings(
        kafka=kafka_at(kafka_bootstrap), registry=registry_at(registry_url),
        topic_prefix=platform_env["GOVBUS_TOPIC_PREFIX"], normaliser_app_id=f"normaliser-{uuid.uuid4().hex[:8]}",
        normaliser_partitions=2, normaliser_items=(ITEM,))
    ensure_normaliser_topics(settings)
    port = processes.free_port()
    env = {**platform_env, "GOVBUS_NORMALISER_APP_ID": settings.normaliser_app_id, "GOVBUS_NORMALISER_PARTITIONS": "2",
           "GOVBUS_NORMALISER_ITEMS": ITEM, "GOVBUS_NORMALISER_METRICS_PORT": str(port),
           "GOVBUS_STREAMS_STATE_DIR": str(tmp_path / "state")}
    log = tmp_path / "normaliser.log"
    pid = processes.start_process([sys.executable, "-m", "streams.normaliser"], log, env=env)
    try:
        processes.wait_until(lambda: _metric(port, "govbus_normaliser_records_processed_total") is not None, 60,
                             "the normaliser's metrics", alive=lambda: processes.is_alive(pid), log_path=log)
        yield settings, port
        assert processes.is_alive(pid), f"the normaliser died on its own (log {log})"
    finally:
        processes.stop_process(pid, timeout=20)
    assert not processes.is_alive(pid)


@pytest.fixture
def gateway(platform_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The gateway on the test's topic prefix: (its URL, market regulation's key)."""
    keys_file = tmp_path / "keys.json"
    key = add_key(keys_file, "market-regulation", "test")
    with running_gateway({**platform_env, "GOVBUS_GATEWAY_KEYS_FILE": str(keys_file)}, tmp_path / "gateway.log") as url:
        yield url, key


def _metric(port: int, name: str) -> float | None:
    """The sum of a counter's samples on the worker's /metrics (None while it does not answer)."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return None
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == name)


def _post(url: str, key: str, body: str, headers: dict[str, str]) -> list[str]:
    response = httpx.post(f"{url}/v1/items/{ITEM}/records", content=body, timeout=60,
                          headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json", **headers})
    assert response.status_code == 202 and response.json()["accepted"] == RECORDS, response.text
    return [result["event_id"] for result in response.json()["results"]]


def _batch(seed: int) -> str:
    records: list[dict[str, Any]] = [
        {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in s.record.items()}
        for s in enterprise_registrations(RECORDS, invalid_share=0.0, seed=seed)]
    return json.dumps(records, ensure_ascii=False)


def test_a_batch_sent_again_with_its_key_reaches_the_canonical_topic_once(
    normaliser: tuple[NormaliserSettings, int], gateway: tuple[str, str],
) -> None:
    settings, port = normaliser
    url, key = gateway
    keyed, unkeyed = _batch(seed=21), _batch(seed=22)
    first = _post(url, key, keyed, {"Idempotency-Key": "a3e1c7d2-batch-21"})
    again = _post(url, key, keyed, {"Idempotency-Key": "a3e1c7d2-batch-21"})
    assert again == first
    without = [_post(url, key, unkeyed, {}) for _ in range(2)]
    assert not set(without[0]) & set(without[1])

    sent = 4 * RECORDS
    processes.wait_until(lambda: (_metric(port, "govbus_normaliser_records_processed_total") or 0) >= sent, 120,
                         f"{sent} records normalised")
    assert _metric(port, "govbus_normaliser_records_deduplicated_total") == RECORDS
    assert _metric(port, "govbus_normaliser_records_canonical_total") == 3 * RECORDS

    decoder = WireDecoder(clients.registry_client(settings.registry))
    canonical: Counter[str] = Counter()

    def all_committed() -> bool:
        canonical.clear()
        canonical.update(str(decoder.decode(m.value()).value["event_id"])
                         for m in read_topic(settings.kafka, canonical_topic(ITEM, settings.topic_prefix)))
        return sum(canonical.values()) >= 3 * RECORDS

    processes.wait_until(all_committed, 60, "the canonical events committed")
    assert canonical == Counter([*first, *without[0], *without[1]])  # the keyed batch once, the other one twice
    keys_of = Counter(m.key() for m in read_topic(settings.kafka, canonical_topic(ITEM, settings.topic_prefix)))
    assert sorted(keys_of.values()) == [1] * RECORDS + [2] * RECORDS
