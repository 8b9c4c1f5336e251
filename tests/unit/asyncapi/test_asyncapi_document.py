"""The AsyncAPI document: the committed copy and its page are what the generator makes now, every catalogue item,
dialect and profile is in it with its own schema and subject, and every reference in it leads somewhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fastavro
import pytest
import yaml
from click.testing import CliRunner

from govbus.asyncapi import bus_document, markdown_page
from govbus.asyncapi.output import as_json, as_yaml
from govbus.asyncapi.payloads import AVRO_FORMAT
from govbus.cli import main
from govbus.topic_names import canonical_topic, dead_letter_topic, department_topic, profile_topic, value_subject
from schemas.catalogue import load_catalogue
from schemas.catalogue.profiles import load_profiles
from streams.dialects import local_dialects

REGENERATE = "run `govbus catalogue asyncapi --out docs/asyncapi.yaml --page docs/asyncapi.md` and commit both"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return bus_document("govbus")


def _resolve(document: dict[str, Any], reference: str) -> Any:
    node: Any = document
    for part in reference.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _channel_of(document: dict[str, Any], address: str) -> dict[str, Any]:
    [channel] = [c for c in document["channels"].values() if c["address"] == address]
    return channel


def _messages(document: dict[str, Any], channel: dict[str, Any]) -> list[dict[str, Any]]:
    return [_resolve(document, ref["$ref"]) for ref in channel["messages"].values()]


def test_the_committed_document_and_page_are_what_the_generator_makes(repo_root: Path,
                                                                        document: dict[str, Any]) -> None:
    assert (repo_root / "docs" / "asyncapi.yaml").read_text(encoding="utf-8") == as_yaml(document), REGENERATE
    assert (repo_root / "docs" / "asyncapi.md").read_text(encoding="utf-8") == markdown_page(document), REGENERATE


def test_every_item_has_its_department_canonical_and_dead_letter_channels(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for item in load_catalogue():
        for address in (department_topic(item.department, item.name), canonical_topic(item.name)):
            [message] = _messages(document, _channel_of(document, address))
            assert message["x-registry-subject"] == value_subject(address)
            payload = _resolve(document, message["payload"]["$ref"])
            assert payload == {"schemaFormat": AVRO_FORMAT, "schema": item.event_schema()}
            assert message["bindings"]["kafka"]["schemaIdPayloadEncoding"] == "confluent"
            assert all(f"`{field}`" in message["bindings"]["kafka"]["key"]["description"] for field in item.key_fields)
        [letter] = _messages(document, _channel_of(document, dead_letter_topic(item.name)))
        assert _resolve(document, letter["headers"]["$ref"]) is schemas["DeadLetterHeaders"]


def test_every_local_dialect_and_profile_has_its_channel_with_its_own_schema(document: dict[str, Any]) -> None:
    for item in load_catalogue():
        for dialect in local_dialects(item.name):
            [message] = _messages(document, _channel_of(document, dialect.topic("govbus")))
            assert _resolve(document, message["payload"]["$ref"])["schema"] == dialect.event_schema()
    for profile in load_profiles():
        channel = _channel_of(document, profile_topic(profile.name))
        [message] = _messages(document, channel)
        assert _resolve(document, message["payload"]["$ref"])["schema"] == profile.schema
        assert channel["bindings"]["kafka"]["topicConfiguration"]["cleanup.policy"] == ["compact"]


def test_every_avro_payload_is_a_schema_fastavro_parses(document: dict[str, Any]) -> None:
    """The AsyncAPI CLI checks an Avro schema's shape only (a type name that refers to nothing passes it)."""
    avro = [s["schema"] for s in document["components"]["schemas"].values() if s.get("schemaFormat") == AVRO_FORMAT]
    assert len(avro) == len(load_catalogue()) + 8 + len(load_profiles())  # items, 8 local dialects, profiles
    for schema in avro:
        fastavro.parse_schema(schema)


def test_subscription_channels_are_parameterised(document: dict[str, Any]) -> None:
    delivery = document["channels"]["delivery"]
    assert delivery["address"] == "govbus.delivery.{subscriber}.{subscription}"
    assert set(delivery["parameters"]) == {"subscriber", "subscription"}
    assert document["channels"]["dead-letter.subscription"]["parameters"].keys() == {"subscription"}


def test_every_reference_resolves_and_every_operation_uses_its_channels_messages(document: dict[str, Any]) -> None:
    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            return ([node["$ref"]] if "$ref" in node else []) + [r for v in node.values() for r in refs(v)]
        return [r for v in node for r in refs(v)] if isinstance(node, list) else []

    for reference in refs(document):
        _resolve(document, reference)  # a KeyError names a dangling one
    for operation_id, operation in document["operations"].items():
        role, action, channel_id = operation_id.split(".", 2)
        assert operation["action"] == action and operation["channel"]["$ref"] == f"#/channels/{channel_id}"
        assert all(m["$ref"].startswith(f"#/channels/{channel_id}/messages/") for m in operation["messages"])
        assert operation["tags"] == [{"$ref": f"#/components/tags/{role}"}]


def test_each_role_sends_and_receives_where_its_acls_let_it(document: dict[str, Any]) -> None:
    operations = document["operations"]
    assert "department.send.dept.taxation.tax-payment-certificate" in operations
    assert "normaliser.receive.local.taxation.tax-payment-certificate.shandong-jin3-v1" in operations
    assert "normaliser.send.dead-letter.tax-payment-certificate" in operations
    assert "profile-builder.receive.canonical.credit-record" in operations
    assert "profile-builder.receive.canonical.tax-risk-assessment" not in operations  # feeds no profile
    assert "subscriber.receive.delivery" in operations
    assert not [o for o in operations if o.startswith("subscriber.receive.canonical.")]  # never a canonical topic
    assert not [o for o in operations if o.startswith("department.receive.dept.")]  # departments read nothing


def test_the_cli_writes_yaml_json_and_the_page(tmp_path: Path, document: dict[str, Any]) -> None:
    runner = CliRunner()
    shown = runner.invoke(main, ["catalogue", "asyncapi", "--topic-prefix", "govbus"])
    assert shown.exit_code == 0, shown.output
    assert yaml.safe_load(shown.output) == document
    out, page = tmp_path / "bus.json", tmp_path / "bus.md"
    written = runner.invoke(main, ["catalogue", "asyncapi", "--topic-prefix", "govbus", "--out", str(out),
                                   "--page", str(page)])
    assert written.exit_code == 0, written.output
    assert json.loads(out.read_text(encoding="utf-8")) == document
    assert out.read_text(encoding="utf-8") == as_json(document)
    assert page.read_text(encoding="utf-8") == markdown_page(document)
    refused = runner.invoke(main, ["catalogue", "asyncapi", "--out", str(tmp_path / "bus.txt")])
    assert refused.exit_code == 1 and ".yaml, .yml or .json" in refused.output


def test_another_prefix_names_other_topics() -> None:
    other = bus_document("govbus.test-1a2b")
    assert other["channels"]["canonical.credit-record"]["address"] == "govbus.test-1a2b.canonical.credit-record"
    assert "govbus.test-1a2b" in other["info"]["description"]
