"""A lean receiver for the webhook benchmark, in its own process: ``python -m bench._webhook_receiver PORT``.

``POST /govbus`` takes a batch (``{"events": [...]}``) or one event, verified as a subscriber would, with the
Standard Webhooks library and the secret in ``GOVBUS_BENCH_WEBHOOK_SECRET`` (401 and counted as ``unverified``
otherwise); ``POST /plain`` takes the same unsigned (the baseline loop, which signs nothing). Both dedupe by
``idempotency_key`` and record, per new event, the time it arrived minus its ``published_at`` (ms). ``GET /stats``
returns the counts (``?latencies=1``: and the latencies with each event's ``published_at``); ``POST /reset``
forgets everything.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET_ENV = "GOVBUS_BENCH_WEBHOOK_SECRET"


class Stats:
    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.latencies_ms: list[float] = []
        self.published: list[float] = []
        self.requests = 0
        self.duplicates = 0
        self.unverified = 0

    def take(self, events: list[dict[str, Any]]) -> None:
        now = time.time()
        self.requests += 1
        for event in events:
            key = event["idempotency_key"]
            if key in self.seen:
                self.duplicates += 1
                continue
            self.seen.add(key)
            published = dt.datetime.fromisoformat(event["published_at"]).timestamp()
            self.latencies_ms.append((now - published) * 1000)
            self.published.append(published)


def app(webhook: Webhook) -> web.Application:
    stats = Stats()

    def take(body: bytes) -> web.Response:
        document = json.loads(body)
        stats.take(document["events"] if "events" in document else [document])
        return web.Response(status=204)

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            webhook.verify(body, dict(request.headers), json_parse=False)
        except WebhookVerificationError:
            stats.unverified += 1
            return web.Response(status=401)
        return take(body)

    async def receive_plain(request: web.Request) -> web.Response:
        return take(await request.read())

    async def report(request: web.Request) -> web.Response:
        found: dict[str, Any] = {"events": len(stats.seen), "requests": stats.requests, "duplicates": stats.duplicates,
                                 "unverified": stats.unverified}
        if request.query.get("latencies"):
            found.update(latencies_ms=stats.latencies_ms, published=stats.published)
        return web.json_response(found)

    async def reset(_request: web.Request) -> web.Response:
        nonlocal stats
        stats = Stats()
        return web.Response(status=204)

    application = web.Application(client_max_size=256 * 1024 * 1024)
    application.router.add_post("/govbus", receive)
    application.router.add_post("/plain", receive_plain)
    application.router.add_get("/stats", report)
    application.router.add_post("/reset", reset)
    return application


if __name__ == "__main__":
    web.run_app(app(Webhook(os.environ[SECRET_ENV])), host="127.0.0.1", port=int(sys.argv[1]), access_log=None,
                print=None)
