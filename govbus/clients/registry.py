"""Schema-registry clients built from a :class:`~govbus.connection.RegistryConnection`."""

from __future__ import annotations

import httpx
from confluent_kafka.schema_registry import SchemaRegistryClient

from govbus.connection import RegistryConnection


def registry_client(connection: RegistryConnection, timeout: float | None = None) -> SchemaRegistryClient:
    """confluent-kafka's registry client (schema lookups, registration, the Avro serdes)."""
    config: dict[str, object] = {"url": connection.url}
    if connection.username and connection.password:
        config["basic.auth.user.info"] = f"{connection.username}:{connection.password.get_secret_value()}"
    if connection.tls_ca is not None:
        config["ssl.ca.location"] = str(connection.tls_ca)
    if timeout is not None:
        config["timeout"] = int(timeout)
    return SchemaRegistryClient(config)


def registry_http(connection: RegistryConnection, timeout: float = 30.0) -> httpx.Client:
    """A plain HTTP client for the registry's REST calls that confluent's client does not expose."""
    auth = (connection.username, connection.password.get_secret_value()) \
        if connection.username and connection.password else None
    verify: str | bool = str(connection.tls_ca) if connection.tls_ca is not None else True
    return httpx.Client(base_url=connection.url, auth=auth, verify=verify, timeout=timeout)
