"""Compatibility through Confluent's client: refusals with reasons, acceptances, verbose checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from govbus.platform.registry_process import RegistryProcess


def avro(*fields: dict[str, Any]) -> Schema:
    return Schema(
        json.dumps({"type": "record", "name": "Permit", "namespace": "gov.permits", "fields": list(fields)}), "AVRO"
    )


NUMBER = {"name": "number", "type": "long"}
HOLDER = {"name": "holder", "type": "string"}
HOLDER_DEFAULT = {"name": "holder", "type": "string", "default": "unknown"}


@pytest.fixture
def client(registry: RegistryProcess) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": registry.url})


def test_incompatible_registration_is_refused_with_reasons(
    client: SchemaRegistryClient, unique_name: Callable[[str], str]
) -> None:
    subject = unique_name("permits-value")
    assert client.set_compatibility(subject, "BACKWARD") == {"compatibility": "BACKWARD"}
    assert client.get_compatibility(subject) == "BACKWARD"
    first = client.register_schema(subject, avro(NUMBER))
    with pytest.raises(SchemaRegistryError) as caught:
        client.register_schema(subject, avro(NUMBER, HOLDER))
    error = caught.value
    assert (error.http_status_code, error.error_code) == (409, 409)
    assert "/fields/holder" in error.error_message and "default" in error.error_message
    assert client.get_versions(subject) == [1]

    assert client.test_compatibility(subject, avro(NUMBER, HOLDER_DEFAULT)) is True
    assert client.test_compatibility(subject, avro(NUMBER, HOLDER)) is False
    second = client.register_schema(subject, avro(NUMBER, HOLDER_DEFAULT))
    assert second != first and client.get_versions(subject) == [1, 2]


def test_verbose_compatibility_check_lists_the_reasons(
    registry: RegistryProcess, client: SchemaRegistryClient, unique_name: Callable[[str], str]
) -> None:
    subject = unique_name("verbose-value")
    client.register_schema(subject, avro(NUMBER, HOLDER_DEFAULT))
    candidate = avro({"name": "number", "type": "int"}, {"name": "expires", "type": "long"})
    with httpx.Client(base_url=registry.url, timeout=20) as http:
        url = f"/compatibility/subjects/{subject}/versions/latest"
        verbose = http.post(url, params={"verbose": "true"}, json=candidate.to_dict()).json()
        terse = http.post(url, json=candidate.to_dict()).json()
    assert terse == {"is_compatible": False}
    assert verbose["is_compatible"] is False
    messages = verbose["messages"]
    assert len(messages) == 2
    assert any("/fields/number/type" in m and "int" in m and "long" in m for m in messages)
    assert any("/fields/expires" in m and "default" in m for m in messages)


def test_levels_set_through_the_client_are_applied(
    client: SchemaRegistryClient, unique_name: Callable[[str], str]
) -> None:
    subject = unique_name("levels-value")
    client.register_schema(subject, avro(NUMBER, HOLDER))
    client.register_schema(subject, avro(NUMBER, HOLDER_DEFAULT))
    without_holder = avro(NUMBER)
    client.set_compatibility(subject, "FORWARD_TRANSITIVE")  # version 1's reader needs holder
    with pytest.raises(SchemaRegistryError) as caught:
        client.register_schema(subject, without_holder)
    assert caught.value.error_code == 409 and "version 1" in caught.value.error_message
    client.set_compatibility(subject, "FORWARD")  # only the latest (with a default) is checked
    assert client.register_schema(subject, without_holder) > 0
    config = client.get_config(subject)
    assert config.compatibility_level is not None and config.compatibility_level.value == "FORWARD"
    deleted = client.delete_config(subject)
    assert deleted.compatibility_level is not None and deleted.compatibility_level.value == "FORWARD"
    assert client.get_compatibility() == "BACKWARD"
