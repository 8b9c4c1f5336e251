#!/usr/bin/env bash
# Run the govbus demo on the local embedded platform (installs what it needs first).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/govbus demo "$@"
