"""``python -m connectors.webhook``: deliver one subscription (``GOVBUS_WEBHOOK_SUBSCRIPTION``) until SIGTERM."""

from __future__ import annotations

import os
import sys

from pydantic import ValidationError as SettingsError

from connectors.webhook.connector import run_connector
from connectors.webhook.settings import WebhookSettings
from govbus.exceptions import GovbusError
from govbus.logs import configure_logging


def main() -> int:
    configure_logging(os.environ.get("GOVBUS_LOG_LEVEL", "INFO"))
    try:
        run_connector(WebhookSettings())
    except SettingsError as error:
        print(f"error: webhook settings are invalid (GOVBUS_WEBHOOK_*): {error}", file=sys.stderr)
        return 2
    except GovbusError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
