"""``python -m connectors.public_feed``: serve the public disclosure feed (settings from ``GOVBUS_*``)."""

from __future__ import annotations

import sys

from connectors.public_feed.server import serve
from connectors.public_feed.settings import FeedSettings
from govbus.service import run_entrypoint


def main() -> int:
    return run_entrypoint(FeedSettings, serve, "feed", "GOVBUS_FEED_*", configuration_exit=2)


if __name__ == "__main__":
    sys.exit(main())
