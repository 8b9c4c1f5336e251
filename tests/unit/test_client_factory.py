"""One client factory: no module outside ``govbus.clients`` builds a Kafka client, a Quix application or a
schema-registry client, or writes the connection part of a librdkafka configuration.

The broker's and the registry's addresses, protocols and credentials reach every client through
:mod:`govbus.clients`, so turning authentication on (or TLS) is a change of settings, not of modules.
The only exception: the registry's own tests drive confluent's ``SchemaRegistryClient`` as a user of the
registry would, to prove the registry serves that client.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from govbus import clients

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("govbus", "schemas", "streams", "connectors", "consumers", "testsupport", "bench", "tests")
FACTORY = ROOT / "govbus" / "clients"
REGISTRY_CLIENT_TESTS = ROOT / "tests" / "integration" / "registry"
FACTORY_TESTS = {Path(__file__).resolve(), ROOT / "tests" / "unit" / "test_connection.py"}
"""the checker's own cases, and the factory's expected translations"""
BUILT_ELSEWHERE = {("confluent_kafka", "Producer"), ("confluent_kafka", "Consumer"),
                   ("confluent_kafka.admin", "AdminClient"), ("confluent_kafka", "AdminClient"),
                   ("quixstreams", "Application"), ("confluent_kafka.schema_registry", "SchemaRegistryClient")}
CONNECTION_KEYS = {"bootstrap.servers", "security.protocol", "sasl.username", "sasl.password", "sasl.mechanism",
                   "basic.auth.user.info"}


def violations(source: str, registry_client_allowed: bool = False) -> list[str]:
    """What ``source`` builds or writes that only the factory may: ``line: what``."""
    tree = ast.parse(source)
    imported = {alias.asname or alias.name: (node.module, alias.name) for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module for alias in node.names}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in imported:
            origin = imported[node.func.id]
            if origin in BUILT_ELSEWHERE and not (registry_client_allowed and origin[1] == "SchemaRegistryClient"):
                found.append(f"{node.lineno}: {origin[1]}(...)")
        if isinstance(node, ast.Dict):
            found += [f"{key.lineno}: {key.value!r}" for key in node.keys
                      if isinstance(key, ast.Constant) and key.value in CONNECTION_KEYS]
    return found


def test_no_client_is_built_outside_the_factory() -> None:
    files = [path for package in SCANNED for path in sorted((ROOT / package).rglob("*.py"))
             if FACTORY not in path.parents and path not in FACTORY_TESTS]
    assert len(files) > 100
    found = [f"{path.relative_to(ROOT)}:{where}" for path in files
             for where in violations(path.read_text(encoding="utf-8"), REGISTRY_CLIENT_TESTS in path.parents)]
    assert not found, f"build these with govbus.clients instead: {found}"


def test_every_component_reads_committed_records() -> None:
    """Every consumer reads only committed transactional records (the processors write in transactions):
    :func:`govbus.clients.consumer` sets ``isolation.level=read_committed`` and no component overrides it."""
    files = [path for package in ("govbus", "schemas", "streams", "connectors", "consumers")
             for path in sorted((ROOT / package).rglob("*.py")) if FACTORY not in path.parents]
    found = [f"{path.relative_to(ROOT)}:{key.lineno}" for path in files
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(node, ast.Dict)
             for key in node.keys if isinstance(key, ast.Constant) and key.value == "isolation.level"]
    assert not found, f"isolation level set outside govbus.clients: {found}"
    assert clients.kafka.READ_COMMITTED == {"isolation.level": "read_committed"}


def test_the_factory_is_where_clients_are_built() -> None:
    found = [where for path in FACTORY.glob("*.py") for where in violations(path.read_text(encoding="utf-8"))]
    assert any("Producer" in w for w in found) and any("'bootstrap.servers'" in w for w in found)


@pytest.mark.parametrize(("source", "bad"), [
    ('from confluent_kafka import Consumer\nConsumer({"group.id": "g"})', ["2: Consumer(...)"]),
    ("from confluent_kafka.admin import AdminClient as A\nA({})", ["2: AdminClient(...)"]),
    ('x = {\n  "bootstrap.servers": b}', ["2: 'bootstrap.servers'"]),
    ("from quixstreams import Application\nApplication(broker_address='b')", ["2: Application(...)"]),
    ("from aiohttp import web\nweb.Application()", []),
    ("from govbus import clients\nclients.consumer(kafka, 'g', {'enable.auto.commit': False})", []),
])
def test_checker(source: str, bad: list[str]) -> None:
    assert violations(source) == bad
