"""The scenario's webhook receiver, in its own process: ``python -m bench.scenario.receiver --port P
--control-port C --out FILE``, verifying with the Standard Webhooks secret in ``GOVBUS_SCENARIO_WEBHOOK_SECRET``.

It plays one subscriber of a scenario run and writes down what that subscriber got, for ``check``:

1. ``POST`` on any path of ``--port`` takes a batch (``{"events": [...]}``) or one event, verified with the
   Standard Webhooks library (401, counted as ``unverified``, when the signature fails; 400, ``malformed``,
   when the body is no batch).
2. Every event of a verified request, repeats included (an ``idempotency_key`` received before), is appended
   to ``--out`` as a line of ``deliveries/<subscriber>.jsonl`` (bench/scenario/FORMAT.md), with the whole
   event under ``"event"``: the checker looks there for values that should never have left. A request's lines
   are flushed before it is answered 204, so a batch the connector saw acknowledged is in the file even if the
   process is killed right after.
3. The control port (``--control-port``, a second listener, so it stays up while the first is down) injects
   the webhook faults: ``POST /control {"mode": "down" | "429" | "ok", "seconds": N}``.

   - ``down``: the delivery port's listening socket is closed and every open connection dropped, so the
     connector's requests are refused as by a receiver that is gone; after N s it listens again.
   - ``429``: every delivery is answered 429 with ``Retry-After`` (the seconds left of the fault, or the
     body's ``"retry_after"``) for N s.
   - ``ok``: back to normal at once (a fault also ends by itself after its N s; without ``seconds`` it lasts
     until ``ok``).

   ``GET /stats`` answers the counts: ``accepted`` (events appended), ``repeats`` (of them, received among the
   last 10,000 before), ``requests``, ``unverified``, ``malformed``, ``refused_429``, ``mode`` and
   ``mode_seconds_left``.

:class:`ReceiverProcess` starts the process by PID, waits until it answers, drives the control port and stops
it by PID.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import logging
import math
import os
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, cast

import httpx
from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from govbus.exceptions import ConfigurationError, PlatformError
from govbus.logs import configure_logging
from govbus.platform import processes

SECRET_ENV = "GOVBUS_SCENARIO_WEBHOOK_SECRET"
HOST = "127.0.0.1"
Mode = Literal["ok", "down", "429"]
MODES: tuple[Mode, ...] = ("ok", "down", "429")

log = logging.getLogger("bench.scenario.receiver")  # the same name when run as __main__


def epoch(value: object) -> float | None:
    """An event's ``published_at`` (ISO 8601) as Unix seconds; None when it is missing or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


def delivery_line(event: dict[str, Any], received: float) -> dict[str, Any]:
    """The deliveries line of one received event (FORMAT.md), the whole event under ``"event"``."""
    return {"t_received": received, "event_id": event.get("event_id"), "published_at": epoch(event.get("published_at")),
            "item": event.get("item"), "event": event}


def batch_events(body: bytes) -> list[dict[str, Any]] | None:
    """The events of a request's body (a batch or one event); None when it is neither."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    events = document.get("events") if isinstance(document, dict) and "events" in document else [document]
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        return None
    return cast(list[dict[str, Any]], events)


REPEAT_WINDOW = 10_000
"""repeats are recognised among this many latest events (a redelivery comes within minutes, not a run later)"""


@dataclass
class DeliveryLog:
    """The deliveries file and the counts of what was received."""

    file: IO[str]
    seen: set[str] = field(default_factory=set)
    """the idempotency keys of the last REPEAT_WINDOW events (``order`` keeps their order), as a receiver that
    drops repeats keeps a window of them, not every key it ever got"""
    order: deque[str] = field(default_factory=deque)
    accepted: int = 0
    repeats: int = 0
    requests: int = 0

    def take(self, events: list[dict[str, Any]], received: float) -> None:
        """Append one request's events and flush them."""
        self.requests += 1
        for event in events:
            key = str(event.get("idempotency_key") or event.get("event_id"))
            if key in self.seen:
                self.repeats += 1
            else:
                self.seen.add(key)
                self.order.append(key)
                if len(self.order) > REPEAT_WINDOW:
                    self.seen.discard(self.order.popleft())
            self.file.write(json.dumps(delivery_line(event, received), ensure_ascii=False, separators=(",", ":")))
            self.file.write("\n")
        self.accepted += len(events)
        self.file.flush()


@dataclass
class Faults:
    """The fault under way: its mode, when it ends (monotonic seconds, None: when told) and its Retry-After."""

    mode: Mode = "ok"
    until: float | None = None
    retry_after: int | None = None

    def seconds_left(self) -> float | None:
        return None if self.until is None else max(0.0, self.until - time.monotonic())

    def retry_after_header(self) -> str:
        """Retry-After of a 429: the one asked for, else the seconds left of the fault (at least 1)."""
        if self.retry_after is not None:
            return str(self.retry_after)
        left = self.seconds_left()
        return str(max(1, math.ceil(left if left is not None else 1)))


class Receiver:
    """The delivery listener, which the control listener can close and reopen (see the module docstring)."""

    def __init__(self, webhook: Webhook, deliveries: DeliveryLog, port: int) -> None:
        self._webhook = webhook
        self._log = deliveries
        self._port = port
        self._faults = Faults()
        self._counts = {"unverified": 0, "malformed": 0, "refused_429": 0}
        self._runner = web.AppRunner(self._delivery_app(), access_log=None, handle_signals=False)
        self._site: web.TCPSite | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._ending: set[asyncio.Task[None]] = set()

    def _delivery_app(self) -> web.Application:
        application = web.Application(client_max_size=256 * 1024 * 1024)
        application.router.add_post("/{path:.*}", self._receive)
        return application

    def control_app(self) -> web.Application:
        application = web.Application()
        application.router.add_post("/control", self._control)
        application.router.add_get("/stats", self._stats)
        return application

    async def start(self) -> None:
        await self._runner.setup()
        await self._listen()

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        await self._runner.cleanup()

    async def _listen(self) -> None:
        """Listen on the delivery port again (retried each second while another process holds it)."""
        while self._site is None:
            site = web.TCPSite(self._runner, HOST, self._port)
            try:
                await site.start()
            except OSError as error:
                log.error("the delivery port is taken; trying again", extra={"port": self._port, "error": str(error)})
                await asyncio.sleep(1)
                continue
            self._site = site

    async def _close(self) -> None:
        """Stop listening and drop every open connection: the receiver is unreachable."""
        if self._site is not None:
            await self._site.stop()
            self._site = None
        server = self._runner.server
        for handler in server.connections if server is not None else []:
            handler.force_close()

    async def set_mode(self, mode: Mode, seconds: float | None, retry_after: int | None = None) -> None:
        """Start the fault ``mode`` for ``seconds`` (None: until another call), or end it (``ok``)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if mode == "down":
            await self._close()
        else:
            await self._listen()
        until = None if seconds is None or mode == "ok" else time.monotonic() + seconds
        self._faults = Faults(mode, until, retry_after)
        if until is not None:
            self._timer = asyncio.get_running_loop().call_later(seconds or 0.0, self._back_to_ok)
        log.info("receiver mode", extra={"mode": mode, "seconds": seconds})

    def _back_to_ok(self) -> None:
        task = asyncio.ensure_future(self.set_mode("ok", None))
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)

    async def _receive(self, request: web.Request) -> web.Response:
        if self._faults.mode == "429":
            self._counts["refused_429"] += 1
            return web.Response(status=429, headers={"Retry-After": self._faults.retry_after_header()})
        body = await request.read()
        try:
            self._webhook.verify(body, dict(request.headers), json_parse=False)
        except WebhookVerificationError:
            self._counts["unverified"] += 1
            return web.Response(status=401)
        events = batch_events(body)
        if events is None:
            self._counts["malformed"] += 1
            return web.Response(status=400, text="a batch is {\"events\": [event, ...]} or one event object")
        self._log.take(events, time.time())
        return web.Response(status=204)

    async def _control(self, request: web.Request) -> web.Response:
        try:
            asked = await request.json()
            mode, seconds, retry_after = _control_request(asked)
        except (ValueError, TypeError) as error:
            return web.Response(status=400, text=str(error))
        await self.set_mode(mode, seconds, retry_after)
        return await self._stats(request)

    async def _stats(self, _request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    def stats(self) -> dict[str, Any]:
        return {"accepted": self._log.accepted, "repeats": self._log.repeats, "requests": self._log.requests,
                **self._counts, "mode": self._faults.mode, "mode_seconds_left": self._faults.seconds_left()}


def _control_request(asked: object) -> tuple[Mode, float | None, int | None]:
    """(mode, seconds, retry_after) of a control body; ValueError naming what is wrong."""
    if not isinstance(asked, dict) or asked.get("mode") not in MODES:
        raise ValueError(f'the body is {{"mode": one of {", ".join(MODES)}, "seconds": N}}')
    seconds, retry_after = asked.get("seconds"), asked.get("retry_after")
    if seconds is not None and (not isinstance(seconds, int | float) or seconds < 0):
        raise ValueError("seconds is a number >= 0, or null (until the next control request)")
    if retry_after is not None and (not isinstance(retry_after, int) or retry_after < 0):
        raise ValueError("retry_after is a whole number of seconds >= 0, or null (the seconds left of the fault)")
    return cast(Mode, asked["mode"]), seconds, retry_after


async def serve(secret: str, out: Path, port: int, control_port: int) -> None:
    """Run the receiver until SIGTERM or SIGINT."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "a", encoding="utf-8") as file:
        receiver = Receiver(Webhook(secret), DeliveryLog(file), port)
        await receiver.start()
        control = web.AppRunner(receiver.control_app(), access_log=None, handle_signals=False)
        await control.setup()
        await web.TCPSite(control, HOST, control_port).start()
        log.info("scenario receiver ready", extra={"port": port, "control_port": control_port})
        await stopping.wait()
        await control.cleanup()
        await receiver.stop()
        log.info("scenario receiver stopped", extra=receiver.stats())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scenario.receiver",
                                     description="The scenario's webhook receiver (see the module docstring).")
    parser.add_argument("--port", type=int, required=True, help="the delivery port (the subscription's URL)")
    parser.add_argument("--control-port", type=int, required=True, help="the port of POST /control and GET /stats")
    parser.add_argument("--out", type=Path, required=True, help="the deliveries file (JSON Lines, appended)")
    arguments = parser.parse_args(argv)
    secret = os.environ.get(SECRET_ENV)
    if not secret:
        sys.exit(f"set {SECRET_ENV} to the subscription's webhook secret (whsec_...)")
    configure_logging("INFO")
    asyncio.run(serve(secret, arguments.out, arguments.port, arguments.control_port))


@dataclass(frozen=True)
class ReceiverProcess:
    """A receiver process started by PID (:meth:`start`), driven through its control port."""

    pid: int
    port: int
    control_port: int
    out: Path

    @property
    def url(self) -> str:
        """The delivery URL to give the subscription (any path is taken)."""
        return f"http://{HOST}:{self.port}/govbus"

    @property
    def control_url(self) -> str:
        return f"http://{HOST}:{self.control_port}"

    @classmethod
    def start(cls, out: Path, secret: str, log_path: Path, timeout: float = 30.0) -> ReceiverProcess:
        """Start a receiver writing ``out`` on free ports and wait until it answers."""
        if not secret:
            raise ConfigurationError("the scenario receiver needs the subscription's webhook secret (whsec_...)")
        port = processes.free_port()
        control_port = next(p for p in iter(processes.free_port, None) if p != port)
        argv = [sys.executable, "-m", "bench.scenario.receiver", "--port", str(port),
                "--control-port", str(control_port), "--out", str(out)]
        pid = processes.start_process(argv, log_path, env={SECRET_ENV: secret})
        receiver = cls(pid, port, control_port, out)
        try:
            processes.wait_until(receiver.answers, timeout, "the scenario webhook receiver",
                                 lambda: processes.is_alive(pid), log_path)
        except BaseException:
            processes.stop_process(pid)
            raise
        return receiver

    def answers(self) -> bool:
        """Whether the control port answers (it opens after the delivery port)."""
        try:
            return httpx.get(f"{self.control_url}/stats", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stats(self) -> dict[str, Any]:
        return self._ask("GET", "/stats", None)

    def control(self, mode: Mode, seconds: float | None = None, retry_after: int | None = None) -> dict[str, Any]:
        """Inject a fault (``down``, ``429``) for ``seconds``, or end it (``ok``); the stats after it."""
        return self._ask("POST", "/control", {"mode": mode, "seconds": seconds, "retry_after": retry_after})

    def _ask(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        try:
            response = httpx.request(method, f"{self.control_url}{path}", json=body, timeout=10)
        except httpx.HTTPError as error:
            raise PlatformError(f"the scenario receiver (pid {self.pid}) does not answer on its control port "
                                f"{self.control_port}: {error}; see its log") from error
        if response.status_code != 200:
            raise PlatformError(f"the scenario receiver refused {method} {path}: {response.status_code} "
                                f"{response.text}")
        answer: dict[str, Any] = response.json()
        return answer

    def stop(self) -> bool:
        """Stop the process by its PID (SIGTERM: it flushes and closes the file). True if it was running."""
        return processes.stop_process(self.pid)

    def __enter__(self) -> ReceiverProcess:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
