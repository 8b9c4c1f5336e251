"""Unit tests run without a platform: the connection variables a test session exports for its secured broker
and registry (testsupport.broker.exported) are removed for each unit test, so defaults are what they test."""

from __future__ import annotations

import os

import pytest

from testsupport.connections import KAFKA_VARIABLES, REGISTRY_VARIABLES


@pytest.fixture(autouse=True)
def _no_session_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith((KAFKA_VARIABLES, REGISTRY_VARIABLES))]:
        monkeypatch.delenv(name)
