"""``python -m connectors.audit_index``: keep the audit index (settings from ``GOVBUS_*``) until SIGTERM."""

from __future__ import annotations

import sys

from connectors.audit_index.indexer import run_indexer
from connectors.audit_index.settings import AuditIndexSettings
from govbus.service import run_entrypoint


def main() -> int:
    return run_entrypoint(AuditIndexSettings, run_indexer, "audit indexer", "GOVBUS_AUDIT_INDEX_*")


if __name__ == "__main__":
    sys.exit(main())
