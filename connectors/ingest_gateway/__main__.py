"""``python -m connectors.ingest_gateway``: the HTTP ingest gateway (the same code as ``govbus run gateway``)."""

from __future__ import annotations

import sys

from connectors.ingest_gateway.server import serve
from connectors.ingest_gateway.settings import GatewaySettings
from govbus.service import run_entrypoint

if __name__ == "__main__":
    sys.exit(run_entrypoint(GatewaySettings, serve, "gateway", "GOVBUS_GATEWAY_*"))
