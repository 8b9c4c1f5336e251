"""``python -m govbus.operations``: the exporter (settings from ``GOVBUS_*``) until SIGTERM; ``govbus run exporter``
runs the same."""

from __future__ import annotations

import sys

from govbus.operations.exporter import run_exporter
from govbus.operations.settings import ExporterSettings
from govbus.service import run_entrypoint


def main() -> int:
    return run_entrypoint(ExporterSettings, run_exporter, "exporter", "GOVBUS_EXPORTER_*")


if __name__ == "__main__":
    sys.exit(main())
