"""``python -m connectors.pg_mirror``: run the PostgreSQL mirror (settings from ``GOVBUS_*``) until SIGTERM."""

from __future__ import annotations

import sys

from connectors.pg_mirror.connector import run_mirror
from connectors.pg_mirror.settings import MirrorSettings
from govbus.service import run_entrypoint


def main() -> int:
    return run_entrypoint(MirrorSettings, run_mirror, "mirror", "GOVBUS_MIRROR_*")


if __name__ == "__main__":
    sys.exit(main())
