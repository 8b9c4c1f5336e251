"""``python -m connectors.outbox``: run the outbox connector (settings from ``GOVBUS_*``) until SIGTERM."""

from __future__ import annotations

import sys

from connectors.outbox.connector import run_connector
from connectors.outbox.settings import OutboxSettings
from govbus.service import run_entrypoint


def main() -> int:
    return run_entrypoint(OutboxSettings, run_connector, "outbox", "GOVBUS_OUTBOX_*")


if __name__ == "__main__":
    sys.exit(main())
