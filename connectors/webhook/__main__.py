"""``python -m connectors.webhook``: deliver one subscription (``GOVBUS_WEBHOOK_SUBSCRIPTION``) until SIGTERM."""

from __future__ import annotations

import sys

from connectors.webhook.connector import run_connector
from connectors.webhook.settings import WebhookSettings
from govbus.service import run_entrypoint


def main() -> int:
    return run_entrypoint(WebhookSettings, run_connector, "webhook", "GOVBUS_WEBHOOK_*")


if __name__ == "__main__":
    sys.exit(main())
