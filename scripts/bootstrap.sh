#!/usr/bin/env bash
# Shared set-up for scripts/demo.sh and scripts/test.sh: a virtual environment with govbus
# installed, and the checks that Java and Maven exist (Kafka's jars are fetched on first use).
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin="${PYTHON:-python3}"
if ! "$python_bin" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "govbus needs Python >= 3.11 (found: $("$python_bin" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
for tool in java mvn; do
    if ! command -v "$tool" >/dev/null; then
        echo "govbus needs '$tool' to run Apache Kafka locally: apt-get install openjdk-17-jre-headless maven" >&2
        exit 1
    fi
done
if [ ! -x .venv/bin/python ]; then
    echo "creating the virtual environment .venv ..."
    "$python_bin" -m venv .venv || { echo "python3 -m venv failed: apt-get install python3-venv" >&2; exit 1; }
fi
extras="${1:-}"
echo "installing govbus${extras} into .venv ..."
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".${extras}"
