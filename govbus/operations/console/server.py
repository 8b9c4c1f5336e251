"""The console (``govbus run console``): samples the bus status every few seconds and serves one page of it.

1. Every ``GOVBUS_CONSOLE_SAMPLE_SECONDS`` the main thread reads and judges the bus
   (:class:`govbus.operations.status_reads.StatusWatch`, what ``govbus status`` does), keeps the status and adds
   a sample to the history of the last ``GOVBUS_CONSOLE_HISTORY_SECONDS`` (:mod:`.history`). A sample that
   fails for an unforeseen reason is logged and counted; the console goes on.
2. An HTTP server in a thread (the standard library's ``ThreadingHTTPServer``) answers, from what was sampled
   last (no request reads the bus):

   - ``/``: the page (:mod:`.page`), reloading itself every sample interval;
   - ``/status.json``: the last status, as ``govbus status --json`` prints it (503 before the first sample);
   - ``/history.json``: the samples the charts are drawn from;
   - ``/metrics``: the console's own metrics; ``/healthz``: ``ok``.

Why the standard library's server and not aiohttp (which the gateway and the public feed use): the console's
work is the sampling loop, blocking broker calls made in the main thread under
:func:`govbus.service.serve_until_stopped` like every other loop component's; the server only hands out what
the loop stored, to a few operators. An event loop would add a thread bridge and gain nothing.

Security: no login; it listens on 127.0.0.1 by default. Responses carry a Content-Security-Policy that allows
inline styles and nothing else (no script, no request elsewhere).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest

from govbus.exceptions import PortInUseError
from govbus.operations.console.history import History, Sample
from govbus.operations.console.page import render
from govbus.operations.console.settings import ConsoleSettings
from govbus.operations.status import BusStatus
from govbus.operations.status_reads import StatusWatch
from govbus.operations.status_settings import Target
from govbus.service import serve_until_stopped

log = logging.getLogger(__name__)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class ConsoleMetrics:
    """The console's own metrics."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.samples = Counter("govbus_console_samples", "Samples of the bus status taken", registry=registry)
        self.failures = Counter("govbus_console_sample_failures", "Samples that failed unexpectedly (logged)",
                                registry=registry)
        self.last_sample = Gauge("govbus_console_last_sample_timestamp_seconds",
                                 "When the last sample ended (unix seconds)", registry=registry)
        self.duration = Gauge("govbus_console_sample_duration_seconds", "How long the last sample took",
                              registry=registry)


class Console:
    """Samples (:meth:`run` until :meth:`stop`) and serves (see the module docstring)."""

    def __init__(self, settings: ConsoleSettings, status: Callable[[], BusStatus], metrics: ConsoleMetrics) -> None:
        self._settings = settings
        self._status = status
        self.metrics = metrics
        self._history = History(settings.console_history_seconds, settings.console_sample_seconds)
        self._latest: BusStatus | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        try:
            self.server = ThreadingHTTPServer((settings.console_host, settings.console_port), _handler(self))
        except OSError as error:
            raise PortInUseError(f"the console cannot listen on {settings.console_host}:{settings.console_port} "
                                 f"({error.strerror or error}): set GOVBUS_CONSOLE_PORT to a free port") from error
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        """Serve in a thread, sample until :meth:`stop`, then close the server."""
        serving = threading.Thread(target=self.server.serve_forever, name="console-http", daemon=True)
        serving.start()
        log.info("console listening", extra={"url": self.url, "sample_seconds": self._settings.console_sample_seconds})
        print(f"govbus console ready at {self.url}", flush=True)
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                self.sample()
                self._stop.wait(max(0.0, self._settings.console_sample_seconds - (time.monotonic() - started)))
        finally:
            self.server.shutdown()
            self.server.server_close()
            serving.join(timeout=5)

    def sample(self) -> None:
        """Read and judge the bus once; keep the status and add it to the history."""
        started = time.monotonic()
        try:
            status = self._status()
        except Exception:  # a console that stops on one bad sample shows nothing at all
            log.exception("sample failed; the page keeps the last one")
            self.metrics.failures.inc()
            return
        with self._lock:
            self._latest = status
            self._history.add(Sample.of(status))
        self.metrics.samples.inc()
        self.metrics.last_sample.set(time.time())
        self.metrics.duration.set(time.monotonic() - started)

    def snapshot(self) -> tuple[BusStatus | None, list[Sample]]:
        with self._lock:
            return self._latest, self._history.samples()

    def respond(self, path: str) -> tuple[int, str, bytes]:
        """(status code, content type, body) of a GET of ``path``."""
        latest, samples = self.snapshot()
        route = path.split("?", 1)[0]
        if route == "/":
            page = render(latest, samples, self._settings.console_sample_seconds)
            return 200, "text/html; charset=utf-8", page.encode()
        if route == "/status.json":
            if latest is None:
                return 503, "application/json", _json({"error": "no_sample_yet", "message": "the first sample of "
                                                       "the bus status is under way; try again in a few seconds"})
            return 200, "application/json", latest.model_dump_json(indent=2).encode()
        if route == "/history.json":
            return 200, "application/json", _json({"samples": [asdict(sample) for sample in samples]})
        if route == "/metrics":
            return 200, CONTENT_TYPE_LATEST, generate_latest(self.metrics.registry)
        if route == "/healthz":
            return 200, "text/plain; charset=utf-8", b"ok\n"
        return 404, "application/json", _json({"error": "not_found", "message": f"no such path {route!r}; try /, "
                                               "/status.json, /history.json, /metrics or /healthz"})


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode()


def _handler(console: Console) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "govbus-console"
        sys_version = ""

        def do_GET(self) -> None:
            self._answer(with_body=True)

        def do_HEAD(self) -> None:
            self._answer(with_body=False)

        def _answer(self, with_body: bool) -> None:
            code, content_type, body = console.respond(self.path)
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in SECURITY_HEADERS.items():
                self.send_header(name, value)
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("request", extra={"request": format % args})

    return Handler


def run_console(settings: ConsoleSettings, components: tuple[Target, ...] = (),
                registry: CollectorRegistry | None = None, handle_signals: bool = True) -> None:
    """Sample and serve until SIGTERM or SIGINT; ``components`` are checked beside ``GOVBUS_STATUS_TARGETS``."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request: every target at every sample
    watch = StatusWatch(settings, (*settings.status_targets, *components))
    try:
        console = Console(settings, watch.status, ConsoleMetrics(registry or CollectorRegistry()))
        serve_until_stopped(console, 0, console.metrics.registry, handle_signals)
    finally:
        watch.close()
