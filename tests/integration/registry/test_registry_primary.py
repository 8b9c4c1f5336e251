"""Two instances on one topic: one primary, writes forwarded, reads agree, fail-over."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

import httpx
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from govbus.platform.registry_process import RegistryProcess

FAILOVER_SECONDS = 15.0


def is_primary(url: str) -> bool:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    found = re.search(r"^govbus_registry_is_primary (\S+)$", text, re.MULTILINE)
    assert found is not None, text
    return float(found.group(1)) == 1.0


def wait_for_single_primary(registries: list[RegistryProcess], timeout: float) -> RegistryProcess:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        primaries = [r for r in registries if r.running() and is_primary(r.url)]
        assert len(primaries) <= 1, "two primaries at once"
        if primaries:
            return primaries[0]
        time.sleep(0.2)
    raise AssertionError(f"no primary within {timeout} s")


def schema(name: str) -> Schema:
    record = {"type": "record", "name": name, "fields": [{"name": "v", "type": "int"}]}
    return Schema(json.dumps(record), "AVRO")


def read_everything(url: str) -> dict[str, object]:
    with httpx.Client(base_url=url, timeout=10) as http:
        subjects = http.get("/subjects").json()
        return {s: http.get(f"/subjects/{s}/versions/latest").json() for s in subjects}


def test_one_primary_forwarding_and_agreeing_reads(
    start_registry: Callable[..., RegistryProcess], registry_topic: str
) -> None:
    both = [start_registry(registry_topic), start_registry(registry_topic)]
    primary = wait_for_single_primary(both, FAILOVER_SECONDS)
    follower = next(r for r in both if r is not primary)
    assert not is_primary(follower.url)

    via_follower = SchemaRegistryClient({"url": follower.url})
    via_primary = SchemaRegistryClient({"url": primary.url})
    forwarded = via_follower.register_schema_full_response("forwarded-value", schema("A"))
    direct = via_primary.register_schema_full_response("direct-value", schema("B"))
    assert (forwarded.schema_id, forwarded.version) == (1, 1)
    assert (direct.schema_id, direct.version) == (2, 1)
    # the follower answered after reading the write back: its own reads show it at once
    assert httpx.get(f"{follower.url}/subjects/forwarded-value/versions/1").json()["id"] == 1
    with httpx.Client(timeout=10) as http:
        config = http.put(f"{follower.url}/config", json={"compatibility": "FULL"})
        assert config.json() == {"compatibility": "FULL"}
        assert http.get(f"{follower.url}/config").json() == {"compatibilityLevel": "FULL"}
    deadline = time.monotonic() + 5
    while read_everything(primary.url) != read_everything(follower.url) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert read_everything(primary.url) == read_everything(follower.url)
    assert sorted(read_everything(follower.url)) == ["direct-value", "forwarded-value"]
    assert not is_primary(follower.url) and is_primary(primary.url)


def test_stopping_the_primary_promotes_the_other(
    start_registry: Callable[..., RegistryProcess], registry_topic: str
) -> None:
    both = [start_registry(registry_topic), start_registry(registry_topic)]
    primary = wait_for_single_primary(both, FAILOVER_SECONDS)
    survivor = next(r for r in both if r is not primary)
    SchemaRegistryClient({"url": survivor.url}).register_schema("before-value", schema("Before"))

    stopped_at = time.monotonic()
    primary.stop()
    assert wait_for_single_primary([survivor], FAILOVER_SECONDS) is survivor
    assert time.monotonic() - stopped_at < FAILOVER_SECONDS
    client = SchemaRegistryClient({"url": survivor.url})
    assert client.register_schema("after-value", schema("After")) == 2
    assert sorted(client.get_subjects()) == ["after-value", "before-value"]


def test_a_crashed_primary_is_reported_then_replaced(
    start_registry: Callable[..., RegistryProcess], registry_topic: str
) -> None:
    both = [start_registry(registry_topic), start_registry(registry_topic)]
    primary = wait_for_single_primary(both, FAILOVER_SECONDS)
    survivor = next(r for r in both if r is not primary)

    crashed_at = time.monotonic()
    primary.kill()  # no goodbye: the group notices after the 6 s session timeout
    body = {"schema": json.dumps({"type": "record", "name": "C", "fields": [{"name": "v", "type": "int"}]})}
    # until the session times out the survivor still follows the dead primary: a clear refusal naming it
    refused = httpx.post(f"{survivor.url}/subjects/crash-value/versions", json=body, timeout=30)
    assert refused.status_code == 500, refused.text
    assert refused.json()["error_code"] == 50003
    assert primary.url in refused.json()["message"]
    assert wait_for_single_primary([survivor], FAILOVER_SECONDS) is survivor
    assert time.monotonic() - crashed_at < FAILOVER_SECONDS
    accepted = httpx.post(f"{survivor.url}/subjects/crash-value/versions", json=body, timeout=30)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["id"] == 1
