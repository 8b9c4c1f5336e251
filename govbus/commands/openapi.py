"""Write the OpenAPI 3.1 documents of the HTTP APIs to docs/openapi/<api>.json (never edit the JSON: change the
code and run this again; a unit test fails when a file differs from what the code makes).

    python -m govbus.commands.openapi           # write the files (and remove those of APIs no longer here)
    python -m govbus.commands.openapi --check   # exit 1 if a file is missing, stale or different

Each document is made from the application the component serves (its route table and the pydantic models of
its handlers, :mod:`govbus.openapi`), built here without connecting to anything; the running component serves
the same document at ``GET /openapi.json``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from connectors.ingest_gateway import openapi as gateway_api
from connectors.ingest_gateway.app import build_app as gateway_app
from connectors.ingest_gateway.keys import KeyStore
from connectors.ingest_gateway.settings import GatewaySettings
from connectors.public_feed import openapi as feed_api
from connectors.public_feed.app import FeedContext
from connectors.public_feed.app import build_app as feed_app
from connectors.public_feed.metrics import FeedMetrics
from connectors.public_feed.settings import FeedSettings
from connectors.public_feed.state import FeedState
from govbus.generated_files import GeneratedFiles
from govbus.openapi import ApiInfo, document, rendered
from schemas.registry import openapi as registry_api
from schemas.registry.app import build_app as registry_app
from schemas.registry.forward import Forwarder
from schemas.registry.metrics import RegistryMetrics
from schemas.registry.service import RegistryService
from schemas.registry.settings import RegistrySettings

OUTPUT = Path(__file__).resolve().parents[2] / "docs" / "openapi"


def gateway() -> web.Application:
    """The gateway's application, with no keys and no catalogue (nothing is served)."""
    return gateway_app(GatewaySettings.model_construct(), KeyStore([]), None)


def feed() -> web.Application:
    """The feed's application, over no items (nothing is read)."""
    context = FeedContext(FeedSettings.model_construct(), FeedState([]), {}, FeedMetrics(CollectorRegistry()),
                          lambda: False)
    return feed_app(context)


def registry() -> web.Application:
    """The registry's application (its service is made, not started: nothing connects)."""
    settings = RegistrySettings.model_construct()
    service = RegistryService(settings, RegistryMetrics(CollectorRegistry()))
    return registry_app(service, Forwarder(1.0, settings.advertised_url()))


APIS: dict[str, tuple[Callable[[], web.Application], ApiInfo]] = {
    "gateway": (gateway, gateway_api.INFO),
    "feed": (feed, feed_api.INFO),
    "registry": (registry, registry_api.INFO),
}
"""File name (without .json) -> the component's application and its document's info."""


def documents() -> dict[str, dict[str, Any]]:
    """Name -> OpenAPI document of every API."""
    return {name: document(build(), info) for name, (build, info) in APIS.items()}


def files() -> dict[str, str]:
    """File name -> text of every document."""
    return {f"{name}.json": rendered(body) for name, body in documents().items()}


GENERATED = GeneratedFiles(OUTPUT, files, "python -m govbus.commands.openapi", "the code")


def differences(folder: Path = OUTPUT) -> list[str]:
    """What differs between ``folder`` and :func:`files`: one line per missing, stale or changed file."""
    return GENERATED.differences(folder)


def write(folder: Path = OUTPUT) -> list[Path]:
    """Write every document into ``folder`` and remove the JSON files no API makes; returns those written."""
    return GENERATED.write(folder)


def main(argv: Sequence[str] | None = None) -> int:
    return GENERATED.main(argv, (__doc__ or "").splitlines()[0])


if __name__ == "__main__":
    sys.exit(main())
