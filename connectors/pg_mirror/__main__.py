"""``python -m connectors.pg_mirror``: run the PostgreSQL mirror (settings from ``GOVBUS_*``) until SIGTERM."""

from __future__ import annotations

import os
import sys

from pydantic import ValidationError as SettingsError

from connectors.pg_mirror.connector import run_mirror
from connectors.pg_mirror.settings import MirrorSettings
from govbus.exceptions import GovbusError
from govbus.logs import configure_logging


def main() -> int:
    configure_logging(os.environ.get("GOVBUS_LOG_LEVEL", "INFO"))
    try:
        run_mirror(MirrorSettings())
    except SettingsError as error:
        print(f"error: mirror settings are invalid (GOVBUS_MIRROR_*): {error}", file=sys.stderr)
        return 2
    except GovbusError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
