#!/usr/bin/env bash
# Run govbus's test suite against a real Kafka broker (from Maven Central jars) and the real
# registry (installs what it needs first). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh "[test]"
echo "fetching Apache Kafka's jars if they are not cached yet ..."
.venv/bin/python -c 'from govbus.settings import PlatformSettings as S; from govbus.platform.jars import kafka_libs; s = S(); print(kafka_libs(s.cache_dir, s.kafka_version))'
echo "lint: ruff, mypy and the layer contracts (import-linter) ..."
.venv/bin/ruff check --output-format concise .
.venv/bin/mypy
.venv/bin/lint-imports
set +e
# two workers (pytest-xdist), each with its own broker and registry; a test file runs whole on one worker
.venv/bin/python -m pytest -ra --durations=15 -n "${GOVBUS_TEST_WORKERS:-2}" --dist loadfile "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure here" >&2
    exit 1
fi
exit "$status"
