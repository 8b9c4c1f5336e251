"""A subscriber's receiver (a real HTTP server that verifies every request with the Standard Webhooks library,
``standardwebhooks``, and dedupes by idempotency key), a writer of canonical change events, and helpers to run the
connector and the CLI as processes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from govbus import clients
from govbus.platform.processes import free_port
from govbus.serde import WireEncoder
from govbus.sharing.model import Subscription
from govbus.topic_names import canonical_topic, value_subject
from schemas.catalogue import load_catalogue
from testsupport.connections import kafka_at, registry_at

SECRET_ENV = "GOVBUS_TEST_WEBHOOK_SECRET"
GOVBUS = [sys.executable, "-m", "govbus.cli"]


@dataclass
class Behaviour:
    """How the receiver answers: a share of 503s, a share of requests held past the client's timeout
    (then applied anyway), ``throttle_first`` 429s with ``Retry-After``, or always ``status``."""

    fail_share: float = 0.0
    hang_share: float = 0.0
    hang_seconds: float = 0.0
    throttle_first: int = 0
    retry_after: str = "2"
    status: int | None = None
    seed: int = 5


@dataclass
class Received:
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)
    order: dict[str, list[str]] = field(default_factory=dict)
    """record key -> event ids in the order they were first applied"""
    deliveries: Counter[str] = field(default_factory=Counter)
    requests: list[tuple[float, int]] = field(default_factory=list)
    """(monotonic time, status answered)"""
    bad_signatures: int = 0
    refusals: list[str] = field(default_factory=list)
    """why the library refused each request it refused"""
    signed: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    """(headers, raw body) of every request, as it came (for tests of the headers themselves)"""
    duplicates: int = 0
    hung: int = 0
    batch_keys: list[str] = field(default_factory=list)


class SigningReceiver:
    """``with SigningReceiver(secret, Behaviour(...)) as receiver: ... receiver.url, receiver.received``.

    Every request is verified with ``standardwebhooks.webhooks.Webhook(secret).verify(body, headers)`` on its raw
    body, as a subscriber's code does; one it refuses is answered 401 and counted in ``bad_signatures``. The
    secret may be changed while it runs (``receiver.secret = ...``: a receiver taking a rotated secret)."""

    def __init__(self, secret: str, behaviour: Behaviour | None = None) -> None:
        self.secret = secret
        self.behaviour = behaviour or Behaviour()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/govbus"
        self.received = Received()
        self._rng = random.Random(self.behaviour.seed)
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = request.headers
        with self._lock:
            self.received.signed.append((dict(headers), body))
        try:
            Webhook(self.secret).verify(body, dict(headers), json_parse=False)
        except WebhookVerificationError as refused:
            with self._lock:
                self.received.refusals.append(str(refused))
            return self._answer(401, bad_signature=True)
        status, hang = self._decide()
        if status != 200:
            return self._answer(status)
        if hang:
            await asyncio.sleep(self.behaviour.hang_seconds)  # the client gives up first; we apply anyway
        self._apply(json.loads(body), headers.get("Idempotency-Key", ""))
        return self._answer(200)

    def _decide(self) -> tuple[int, bool]:
        b = self.behaviour
        with self._lock:
            if b.status is not None:
                return b.status, False
            if len(self.received.requests) < b.throttle_first:
                return 429, False
            draw = self._rng.random()
            if draw < b.fail_share:
                return 503, False
            hang = draw < b.fail_share + b.hang_share
            if hang:
                self.received.hung += 1
            return 200, hang

    def _apply(self, document: dict[str, Any], batch_key: str) -> None:
        with self._lock:
            self.received.batch_keys.append(batch_key)
            for event in document["events"]:
                key = event["idempotency_key"]
                self.received.deliveries[key] += 1
                if key in self.received.applied:
                    self.received.duplicates += 1
                    continue
                self.received.applied[key] = event
                self.received.order.setdefault(event["record_key"], []).append(key)

    def _answer(self, status: int, bad_signature: bool = False) -> web.Response:
        with self._lock:
            self.received.requests.append((time.monotonic(), status))
            self.received.bad_signatures += bad_signature
        headers = {"Retry-After": self.behaviour.retry_after} if status == 429 else None
        return web.json_response({"status": status}, status=status, headers=headers)

    async def _start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/govbus", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def __enter__(self) -> SigningReceiver:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *_: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


class CanonicalWriter:
    """Produces canonical change events of catalogue items, as the stream processors would."""

    def __init__(self, bootstrap: str, registry_url: str, prefix: str) -> None:
        self._producer = clients.producer(kafka_at(bootstrap), {"acks": "all", "enable.idempotence": True,
                                   "linger.ms": 5})
        self._registry = clients.registry_client(registry_at(registry_url))
        self._prefix = prefix
        self._encoders: dict[str, WireEncoder] = {}
        self.catalogue = load_catalogue()
        self.values: dict[str, bytes] = {}
        """event id -> the bytes produced"""

    def write(self, item: str, record: dict[str, Any] | None, key: str | None = None,
              operation: str = "UPSERT") -> str:
        topic = canonical_topic(item, self._prefix)
        encoder = self._encoders.get(item)
        if encoder is None:
            encoder = WireEncoder(self._registry, value_subject(topic), self.catalogue.get(item).event_schema())
            self._encoders[item] = encoder
        catalogue_item = self.catalogue.get(item)
        record_key = key or catalogue_item.key_of(record or {})
        event_id = str(uuid.uuid4())
        now = dt.datetime.now(dt.UTC)
        value = encoder.encode({
            "event_id": event_id, "data_item": item, "department": catalogue_item.department,
            "source_system": "test", "operation": operation, "record_key": record_key, "occurred_at": now,
            "published_at": now, "trace_id": event_id.replace("-", ""), "record": record})
        self.values[event_id] = value
        self._producer.produce(topic, key=record_key.encode(), value=value)
        self._producer.poll(0)
        return event_id

    def flush(self) -> None:
        assert self._producer.flush(30) == 0


def subscription(name: str, url: str, *items: dict[str, Any]) -> Subscription:
    """A webhook subscription of subscriber ``<name>-centre`` signed with the test's secret."""
    return Subscription.model_validate({"name": name, "subscriber": f"{name}-centre", "items": list(items),
                                        "delivery": {"kind": "webhook", "url": url, "secret_env": SECRET_ENV}})


def wait_for(condition: Callable[[], bool], timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tail = "\n".join(log.read_text().splitlines()[-30:]) if log and log.exists() else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{tail}")
        time.sleep(0.2)


def metric(port: int, name: str, **labels: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def govbus_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``govbus ARGS`` as a process (the same interpreter), with ``env`` added."""
    import os

    return subprocess.run([*GOVBUS, *args], env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=120, check=False)
