"""Forwarding a write from a follower to the primary, and relaying the primary's answer."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from schemas.registry.errors import ForwardingFailed

FORWARDED_HEADER = "X-Govbus-Forwarded-By"
_RELAYED_HEADERS = {"content-type", "x-govbus-log-position", "www-authenticate"}


class Forwarder:
    """Relays requests with one shared HTTP client session."""

    def __init__(self, timeout: float, instance_url: str) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._instance_url = instance_url
        self._session: aiohttp.ClientSession | None = None

    async def forward(self, request: web.Request, primary_url: str) -> web.Response:
        """Send ``request`` to the primary and return its answer unchanged."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        body = await request.read()
        headers = {
            "Content-Type": request.headers.get("Content-Type", "application/json"),
            FORWARDED_HEADER: self._instance_url,
        }
        if "Authorization" in request.headers:  # the primary authorises the caller, not this instance
            headers["Authorization"] = request.headers["Authorization"]
        try:
            async with self._session.request(
                request.method, primary_url + request.raw_path, data=body, headers=headers
            ) as answer:
                payload = await answer.read()
                relayed = {k: v for k, v in answer.headers.items() if k.lower() in _RELAYED_HEADERS}
                return web.Response(status=answer.status, body=payload, headers=relayed)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ForwardingFailed(
                f"This instance is not the primary and could not forward the write to the primary at "
                f"{primary_url} ({type(exc).__name__}: {exc}). Send writes to {primary_url}, or retry: "
                "a new primary is elected within seconds if that one is gone."
            ) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
