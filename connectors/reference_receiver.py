"""A reference HTTP receiver: what a subscribing system's endpoint does with pushed events and webhook batches.

Two routes:

- ``POST /events``: the reference HTTP push (:mod:`connectors.http_push`, unsigned, one event per request);
- ``POST /webhook``: the webhook connector's signed batches, taken only when the receiver has a secret: each
  request is verified with the Standard Webhooks library (``standardwebhooks``, the one a subscriber's code
  uses: see ``connectors/webhook/README.md``) on its raw body, before it is parsed; a missing, wrong or stale
  signature is answered 401, and without a secret every request there is.

Either applies each body at most once (by ``Idempotency-Key``; on ``/webhook`` that is the batch key, also
the ``webhook-id``) and can be told to fail a share of requests with 503, to show that the sender retries and
commits only after a 2xx. It runs in a thread of its own; used by the demo and the integration tests, and by
docker-compose (``python -m connectors.reference_receiver --secret-env HZ_SECRET``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from govbus.ports import free_port


@dataclass
class ReceivedEvents:
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: int = 0
    refused: int = 0
    duplicates: int = 0
    unverified: int = 0
    """webhook requests answered 401: no valid, recent signature"""
    deliveries_per_key: Counter[str] = field(default_factory=Counter)


class ReferenceReceiver:
    """``with ReferenceReceiver(secret="whsec_...") as receiver: ... receiver.webhook_url ... receiver.events``."""

    def __init__(self, fail_share: float = 0.0, seed: int = 7, port: int | None = None,
                 host: str = "127.0.0.1", secret: str | None = None) -> None:
        self.port = port or free_port()
        self.host = host
        self.url = f"http://{host}:{self.port}/events"
        self.webhook_url = f"http://{host}:{self.port}/webhook"
        self.events = ReceivedEvents()
        self._webhook = Webhook(secret) if secret else None
        self._fail_share = fail_share
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="reference-receiver", daemon=True)
        self._runner: web.AppRunner | None = None

    async def receive(self, request: web.Request) -> web.Response:
        """Apply one pushed event at most once; maybe refuse it with 503."""
        return self._take(request.headers.get("Idempotency-Key", ""), await request.read())

    async def receive_webhook(self, request: web.Request) -> web.Response:
        """Verify a signed batch (Standard Webhooks) on its raw body, then apply it at most once."""
        body = await request.read()
        try:
            if self._webhook is None:
                raise WebhookVerificationError("this receiver has no secret")
            self._webhook.verify(body, dict(request.headers), json_parse=False)
        except WebhookVerificationError as error:
            with self._lock:
                self.events.requests += 1
                self.events.unverified += 1
            return web.json_response({"error": f"signature refused: {error}"}, status=401)
        return self._take(request.headers.get("webhook-id", ""), body)

    def _take(self, key: str, body: bytes) -> web.Response:
        with self._lock:
            self.events.requests += 1
            if self._rng.random() < self._fail_share:
                self.events.refused += 1
                return web.json_response({"error": "temporarily unavailable"}, status=503)
        try:
            document = json.loads(body)
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        with self._lock:
            self.events.deliveries_per_key[key] += 1
            if key in self.events.applied:
                self.events.duplicates += 1
            else:
                self.events.applied[key] = document
        return web.json_response({"applied": key})

    def application(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/events", self.receive)
        app.router.add_post("/webhook", self.receive_webhook)
        return app

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.application(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    def start(self) -> ReferenceReceiver:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> ReferenceReceiver:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def main() -> None:
    """Serve a reference receiver in the foreground (``python -m connectors.reference_receiver``)."""

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--fail-share", type=float, default=0.0, help="share of requests refused with 503")
    parser.add_argument("--secret-env", help="variable holding the webhook secret (whsec_...) /webhook verifies "
                                             "with; without it /webhook refuses every request")
    args = parser.parse_args()
    secret = os.environ.get(args.secret_env, "") if args.secret_env else ""
    if args.secret_env and not secret:
        parser.error(f"{args.secret_env} is not set or empty")
    receiver = ReferenceReceiver(args.fail_share, port=args.port, host=args.host, secret=secret or None)
    web.run_app(receiver.application(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
