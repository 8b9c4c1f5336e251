"""The committed AsyncAPI document passes the AsyncAPI CLI's validation (``asyncapi validate``: the AsyncAPI 3.0
schema, the Avro payloads through its Avro schema parser, references, and its governance rules), and the same
validation refuses a document with a malformed Avro payload schema, so a pass means the payloads were read too.
(The CLI checks an Avro schema's shape, not its names: a type name that refers to nothing passes it. The unit
tests parse every Avro payload with fastavro for that.)

The CLI comes from npm (:data:`ASYNCAPI_CLI`, pinned), installed once into ``<GOVBUS_CACHE_DIR>/npm``
(:func:`govbus.platform.npm.npm_program`): about 1.5 to 2.5 minutes on a clean machine, nothing afterwards.
Errors and warnings fail (``--fail-severity=warn``); information and hints (such as "AsyncAPI 3.1.0 exists") are
printed and pass. The CLI's usage tracking is off (a settings file of our own, ``CI=true``): it runs offline.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
from pathlib import Path

import pytest

from govbus.asyncapi import bus_document
from govbus.asyncapi.output import as_yaml
from govbus.platform.npm import INSTALL_TIMEOUT, npm_program
from govbus.settings import PlatformSettings

log = logging.getLogger(__name__)

ASYNCAPI_CLI = ("@asyncapi/cli", "6.2.0")
"""Pinned: a new CLI may bring new rules; raise it on purpose. 6.2.0 declares Node.js 24 in its engines but runs
(and validates) on Node.js 20 (measured: 20.20); 4.1.1, the last to declare older Node.js, pulls a dependency
that declares 24 all the same and installs three times as much (1.5 GB)."""

pytestmark = pytest.mark.timeout(INSTALL_TIMEOUT + 300)  # the first run on a machine installs the CLI


@pytest.fixture(scope="module")
def asyncapi() -> Path:
    started = time.monotonic()
    program = npm_program(*ASYNCAPI_CLI, "asyncapi", PlatformSettings().cache_dir)
    log.info("AsyncAPI CLI ready", extra={"path": str(program), "seconds": round(time.monotonic() - started, 1)})
    return program


def validate(program: Path, document: Path, scratch: Path) -> subprocess.CompletedProcess[str]:
    """``asyncapi validate DOCUMENT --fail-severity=warn``, usage tracking off without touching
    ``~/.asyncapi-analytics``."""
    settings = scratch / "asyncapi-analytics.json"
    settings.write_text(json.dumps({"analyticsEnabled": "false", "infoMessageShown": "true", "userID": "govbus"}))
    env = {**os.environ, "ASYNCAPI_METRICS_CONFIG_PATH": str(settings), "CI": "true",
           "SUPPRESS_NO_CONFIG_WARNING": "1"}
    started = time.monotonic()
    result = subprocess.run([str(program), "validate", str(document), "--fail-severity=warn"], capture_output=True,
                            text=True, env=env, timeout=180, check=False)
    log.info("asyncapi validate", extra={"document": document.name, "exit": result.returncode,
                                         "seconds": round(time.monotonic() - started, 1)})
    return result


def test_the_committed_document_is_valid(asyncapi: Path, repo_root: Path, tmp_path: Path) -> None:
    result = validate(asyncapi, repo_root / "docs" / "asyncapi.yaml", tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "is valid" in output, output


def test_a_broken_document_is_refused(asyncapi: Path, tmp_path: Path) -> None:
    document = bus_document("govbus")
    schemas = document["components"]["schemas"]
    del schemas["CreditRecordEvent"]["schema"]["fields"][0]["name"]  # an Avro field without a name
    broken = tmp_path / "broken.yaml"
    broken.write_text(as_yaml(document), encoding="utf-8")
    result = validate(asyncapi, broken, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "components.schemas.CreditRecordEvent" in output, output
