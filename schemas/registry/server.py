"""Running one registry instance until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web
from prometheus_client import CollectorRegistry

from govbus.exceptions import PortInUseError
from govbus.logs import configure_logging
from schemas.registry.app import build_app
from schemas.registry.auth import CredentialStore
from schemas.registry.forward import Forwarder
from schemas.registry.metrics import RegistryMetrics
from schemas.registry.service import RegistryService
from schemas.registry.settings import RegistrySettings

log = logging.getLogger(__name__)

READY_LINE = "govbus schema registry ready at {url} (topic {topic})"


def serve(settings: RegistrySettings) -> None:
    """Run the registry in the foreground until SIGTERM/SIGINT (blocking).

    Raises a :class:`govbus.exceptions.GovbusError` if it cannot start (Kafka unreachable,
    port taken).
    """
    configure_logging(settings.log_level)
    asyncio.run(run(settings))


async def run(settings: RegistrySettings) -> None:
    """Replay the log, join the election, serve HTTP; stop cleanly on SIGTERM/SIGINT."""
    credentials = credential_store(settings)
    service = RegistryService(settings, RegistryMetrics(CollectorRegistry()))
    forwarder = Forwarder(settings.registry_write_timeout, settings.advertised_url())
    runner = web.AppRunner(build_app(service, forwarder, credentials), access_log=None)
    try:
        await service.start()
        await runner.setup()
        await _listen(runner, settings)
        url = settings.advertised_url()
        log.info("registry ready", extra={"url": url, "topic": settings.registry_topic, "instance": service.instance})
        print(READY_LINE.format(url=url, topic=settings.registry_topic), flush=True)
        await _wait_for_stop_signal()
        log.info("registry stopping", extra={"url": url})
    finally:
        await service.leave_election()
        await runner.cleanup()
        await service.close()


def credential_store(settings: RegistrySettings) -> CredentialStore | None:
    """The principals allowed in, read before anything starts (a bad file stops the start); ``None``
    (and a warning, once) when the registry is left open."""
    if settings.registry_credentials_file is None:
        log.warning("the registry has no credentials file: anyone who can reach it may register, change and "
                    "delete schemas; set GOVBUS_REGISTRY_CREDENTIALS_FILE to the platform's credentials file")
        return None
    store = CredentialStore(settings.registry_credentials_file)
    log.info("registry authentication on", extra={"credentials_file": str(store.path)})
    return store


async def _listen(runner: web.AppRunner, settings: RegistrySettings) -> None:
    site = web.TCPSite(runner, settings.registry_host, settings.registry_port, shutdown_timeout=5.0)
    try:
        await site.start()
    except OSError as exc:
        raise PortInUseError(
            f"cannot listen on {settings.registry_host}:{settings.registry_port} ({exc.strerror}); "
            "choose another port with --port or GOVBUS_REGISTRY_PORT"
        ) from exc


async def _wait_for_stop_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
