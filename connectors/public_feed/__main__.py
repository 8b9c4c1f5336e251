"""``python -m connectors.public_feed``: serve the public disclosure feed (settings from ``GOVBUS_*``)."""

from __future__ import annotations

import os
import sys

from pydantic import ValidationError as SettingsError

from connectors.public_feed.server import serve
from connectors.public_feed.settings import FeedSettings
from govbus.exceptions import ConfigurationError, GovbusError
from govbus.logs import configure_logging


def main() -> int:
    configure_logging(os.environ.get("GOVBUS_LOG_LEVEL", "INFO"))
    try:
        serve(FeedSettings())
    except SettingsError as error:
        print(f"error: feed settings are invalid (GOVBUS_FEED_*): {error}", file=sys.stderr)
        return 2
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except GovbusError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
