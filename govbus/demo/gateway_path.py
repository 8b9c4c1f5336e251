"""Taxation has no Kafka client: it POSTs JSON-lines batches to the HTTP ingest gateway."""

from __future__ import annotations

import json

import httpx

from connectors.ingest_gateway.keys import add_key
from govbus.demo.context import DemoContext
from govbus.demo.results import PathResult, jsonable
from govbus.demo.synthetic_items import records_for
from govbus.identities import principal_key
from govbus.platform import processes
from govbus.platform.components import start_component
from schemas.catalogue import load_catalogue

ITEM = "tax_payment_certificate"


def via_gateway(context: DemoContext, count: int = 300, batch: int = 100) -> PathResult:
    keys_file = context.logs / "gateway-keys.json"
    key = add_key(keys_file, "taxation", "demo tax system")
    port = processes.free_port()
    env = {**context.env(principal_key("department", "taxation")), "GOVBUS_GATEWAY_PORT": str(port),
           "GOVBUS_GATEWAY_KEYS_FILE": str(keys_file)}
    gateway = start_component("ingest gateway", "connectors.ingest_gateway", env, context.logs / "gateway.log")
    url = f"http://127.0.0.1:{port}"
    result = PathResult("taxation", "HTTP gateway", ITEM)
    try:
        processes.wait_until(lambda: _healthy(url), 60, "the ingest gateway", alive=gateway.alive,
                             log_path=gateway.log_path)
        records = [jsonable(s.record) for s in records_for(load_catalogue().get(ITEM), count, context.invalid_share,
                                                           seed=13)]
        for start in range(0, len(records), batch):
            _post(url, key, records[start:start + batch], result)
    finally:
        gateway.stop()
    result.note = f"POST {url}/v1/items/{ITEM}/records (JSON lines, {batch} a request, API key)"
    return result


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _post(url: str, key: str, records: list[dict[str, object]], result: PathResult) -> None:
    body = "\n".join(json.dumps(r, ensure_ascii=False) for r in records)
    response = httpx.post(f"{url}/v1/items/{ITEM}/records", content=body.encode(), timeout=60,
                          headers={"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson",
                                   "X-Source-System": "tax-collection"})
    result.sent += len(records)
    for outcome in response.json().get("results", []):
        if outcome["status"] == "accepted":
            result.accepted += 1
        else:
            result.reject(outcome.get("field", ""), outcome.get("rule", ""),
                          f"record {outcome['record']} of a batch: {outcome.get('message', '')}")
