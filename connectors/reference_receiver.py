"""A reference HTTP receiver: what a subscribing system's endpoint does with pushed events.

It applies each event at most once (by ``Idempotency-Key``) and can be told to fail a share of
requests with 503, to show that the pusher retries and commits only after a 2xx. It runs in a
thread of its own; used by the demo and the integration tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from govbus.ports import free_port


@dataclass
class ReceivedEvents:
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: int = 0
    refused: int = 0
    duplicates: int = 0
    deliveries_per_key: Counter[str] = field(default_factory=Counter)


class ReferenceReceiver:
    """``with ReferenceReceiver() as receiver: ... receiver.url ... receiver.events.applied``."""

    def __init__(self, fail_share: float = 0.0, seed: int = 7, port: int | None = None,
                 host: str = "127.0.0.1") -> None:
        self.port = port or free_port()
        self.host = host
        self.url = f"http://{host}:{self.port}/events"
        self.events = ReceivedEvents()
        self._fail_share = fail_share
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="reference-receiver", daemon=True)
        self._runner: web.AppRunner | None = None

    async def receive(self, request: web.Request) -> web.Response:
        """Apply one pushed event at most once; maybe refuse it with 503."""
        key = request.headers.get("Idempotency-Key", "")
        with self._lock:
            self.events.requests += 1
            if self._rng.random() < self._fail_share:
                self.events.refused += 1
                return web.json_response({"error": "temporarily unavailable"}, status=503)
        try:
            body = json.loads(await request.read())
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        with self._lock:
            self.events.deliveries_per_key[key] += 1
            if key in self.events.applied:
                self.events.duplicates += 1
            else:
                self.events.applied[key] = body
        return web.json_response({"applied": key})

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/events", self.receive)
        self._runner = web.AppRunner(app, access_log=None)
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

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--fail-share", type=float, default=0.0, help="share of requests refused with 503")
    args = parser.parse_args()
    receiver = ReferenceReceiver(args.fail_share, port=args.port, host=args.host)
    app = web.Application()
    app.router.add_post("/events", receiver.receive)
    web.run_app(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
