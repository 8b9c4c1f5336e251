"""Connections of the test platform, for tests that were handed a bare address by a fixture."""

from __future__ import annotations

from govbus.connection import KafkaConnection, RegistryConnection


def kafka_at(bootstrap: str) -> KafkaConnection:
    """The test broker at ``bootstrap``."""
    return KafkaConnection(bootstrap=bootstrap)


def registry_at(url: str) -> RegistryConnection:
    """The test registry at ``url``."""
    return RegistryConnection(url=url)
