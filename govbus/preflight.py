"""Before a command connects: is the broker (or the registry) there at all? One clear line if not.

librdkafka, asked to reach a broker that is not there, retries until its timeout and prints its own
log lines (``%3|...|FAIL|rdkafka#producer-1|...``) on the terminal; a command then ends in a
``TimeoutError`` or ``KafkaException`` traceback. A command that needs the broker or the registry
first opens a TCP connection to each address it was given (a refused or unresolvable address is
known within milliseconds) and stops with :class:`~govbus.exceptions.PlatformError` naming the
address, the variable that sets it and how to start the local platform.
"""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

from govbus.connection import KafkaConnection, RegistryConnection
from govbus.exceptions import PlatformError

CONNECT_TIMEOUT_SECONDS = 3.0


def require_platform(settings: Any) -> None:
    """The checks for a component's ``settings`` once they are valid: its broker (``kafka``) and, when it
    names one, its registry (``registry``)."""
    kafka, registry = getattr(settings, "kafka", None), getattr(settings, "registry", None)
    if isinstance(kafka, KafkaConnection):
        require_broker(kafka.bootstrap)
    if isinstance(registry, RegistryConnection):
        require_registry(registry.url)


def require_broker(bootstrap: str) -> None:
    """:class:`PlatformError` unless one of the bootstrap servers accepts a TCP connection."""
    reasons = []
    for server in (part.strip() for part in bootstrap.split(",") if part.strip()):
        address = server.split("://", 1)[-1]  # librdkafka accepts PROTOCOL://host:port, and host alone (9092)
        host, colon, port = address.rpartition(":")
        if not colon or not port.isdigit():
            host, port = address, "9092"
        reason = _unreachable(host.strip("[]"), port)
        if reason is None:
            return
        reasons.append(f"{server}: {reason}")
    raise PlatformError(f"the Kafka broker at {bootstrap} cannot be reached ({'; '.join(reasons) or 'no address'}); "
                        "start the local platform with `govbus dev up` or point GOVBUS_KAFKA__BOOTSTRAP at a broker")


def require_registry(url: str) -> None:
    """:class:`PlatformError` unless the schema registry's address accepts a TCP connection."""
    parts = urlsplit(url)
    port = str(parts.port or (443 if parts.scheme == "https" else 80)) if parts.hostname else ""
    reason = _unreachable(parts.hostname or "", port)
    if reason is not None:
        raise PlatformError(f"the schema registry at {url} cannot be reached ({reason}); start the local platform "
                            "with `govbus dev up` or point GOVBUS_REGISTRY__URL at a registry")


def _unreachable(host: str, port: str) -> str | None:
    """Why ``host:port`` takes no TCP connection, or None if it does."""
    if not host or not port.isdigit():
        return "not a host:port address"
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_SECONDS):
            return None
    except OSError as error:
        return error.strerror or str(error) or type(error).__name__
