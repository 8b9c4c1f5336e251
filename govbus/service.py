"""Running a long-lived govbus component: its ``python -m`` entry point and its serve loop."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Protocol, TypeVar

from prometheus_client import CollectorRegistry, start_http_server
from pydantic import ValidationError as SettingsError

from govbus.exceptions import ConfigurationError, GovbusError
from govbus.logs import configure_logging
from govbus.preflight import require_platform
from govbus.settings import settings_problems

S = TypeVar("S")


class Stoppable(Protocol):
    def run(self) -> None: ...
    def stop(self) -> None: ...


def serve_until_stopped(component: Stoppable, metrics_port: int, registry: CollectorRegistry,
                        handle_signals: bool = True, metrics_host: str = "127.0.0.1") -> None:
    """Serve ``/metrics`` on ``metrics_host`` (if a port is set) and run ``component`` until SIGTERM or SIGINT."""
    server = None
    if metrics_port:
        server, _ = start_http_server(metrics_port, addr=metrics_host, registry=registry)
    if handle_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: component.stop())
    try:
        component.run()
    finally:
        if server is not None:
            server.shutdown()


def run_entrypoint(settings_type: Callable[[], S], run: Callable[[S], None], what: str, env_hint: str,
                   configuration_exit: int = 1) -> int:
    """Build the settings, check that the broker (and the registry, when the settings name one) answer, and run;
    one ``error:`` line and an exit code instead of a traceback: 2 for invalid settings, ``configuration_exit``
    for a configuration refused at start, 1 otherwise (the broker or registry unreachable included)."""
    configure_logging(os.environ.get("GOVBUS_LOG_LEVEL", "INFO"))
    try:
        settings = settings_type()
        require_platform(settings)
        run(settings)
    except SettingsError as error:
        print(f"error: {what} settings are invalid ({env_hint}): {settings_problems(error)}", file=sys.stderr)
        return 2
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return configuration_exit
    except GovbusError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
