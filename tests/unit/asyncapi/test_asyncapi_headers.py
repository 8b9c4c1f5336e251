"""The headers the document describes are the ones the code writes: taken from the writers themselves where they
can run without a broker, else from the header names in their source."""

from __future__ import annotations

import ast
import re
import uuid
from pathlib import Path

from connectors.kafka_delivery.messages import delivery_message
from connectors.webhook.payload import ShapedEvent
from govbus.asyncapi.headers import (
    CLOUD_EVENTS_CHANGE,
    CLOUD_EVENTS_PROFILE,
    DELIVERY,
    PARKED_BAD_RECORD,
    PARKED_SHAPED_HEADERS,
    PROFILE,
    dead_letter_headers,
    header_components,
)
from govbus.cloud_events import Attributes
from streams.dead_letters import DeadLetter
from streams.normalising.handler import Accepted

_HEADER_NAME = re.compile(r"^govbus\.[a-z_]+(\.[a-z_]+)*$")


def _names(headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...]) -> set[str]:
    return {name for name, _ in headers}


def _literals(repo_root: Path, source: str, start: str) -> set[str]:
    """The header names written as string literals in ``source`` that start with ``start``."""
    tree = ast.parse((repo_root / source).read_text(encoding="utf-8"))
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and node.value.startswith(start) and _HEADER_NAME.match(node.value)}


def _attributes(dataschema: str | None) -> Attributes:
    return Attributes(id=str(uuid.uuid4()), source="/govbus/taxation/jin3", type="gov.govbus.x.upsert",
                      time="2026-01-02T03:04:05.678Z", subject="k", dataschema=dataschema)


def test_cloud_events_headers_are_the_ones_govbus_writes() -> None:
    assert _names(_attributes("http://registry/schemas/ids/1").headers()) == set(CLOUD_EVENTS_CHANGE)
    assert _names(_attributes(None).headers()) == set(CLOUD_EVENTS_PROFILE) - {"ce_dataschema", "content-type"}
    assert set(CLOUD_EVENTS_PROFILE) == set(CLOUD_EVENTS_CHANGE)


def test_canonical_and_dead_letter_headers_are_the_normalisers() -> None:
    accepted = Accepted(b"k", b"v", "id", "canonical", (), tuple(_attributes("u").headers()))
    schemas = header_components()
    assert _names(accepted.headers()) == set(schemas["CanonicalEventHeaders"]["properties"])
    written = _names(DeadLetter("reason", "validate", "t", 0, 1).headers())
    assert written <= set(dead_letter_headers()) == set(schemas["DeadLetterHeaders"]["properties"])


def test_the_normaliser_adds_only_described_headers_to_a_dead_letter(repo_root: Path) -> None:
    assert _literals(repo_root, "streams/normaliser.py", "govbus.dlq.") <= set(dead_letter_headers())


def test_delivery_headers_are_the_kafka_delivery_connectors() -> None:
    body = {"event_id": "e", "item": "credit_record", "operation": "UPSERT", "record_key": "k"}
    assert _names(delivery_message(ShapedEvent(body, [], [])).headers) == set(DELIVERY)


def test_profile_headers_are_the_profile_builders(repo_root: Path) -> None:
    written = _literals(repo_root, "streams/profiles/app.py", "govbus.") | _literals(
        repo_root, "schemas/catalogue/profiles/__init__.py", "govbus.")
    internal = {"govbus.profile.side", "govbus.profile.version", "govbus.profile.remove"}  # repartition topic only
    assert written - internal == set(PROFILE)


def test_parked_headers_are_the_webhook_connectors_and_the_sink_runtimes(repo_root: Path) -> None:
    parked = _literals(repo_root, "connectors/webhook/connector.py", "govbus.parked.") | _literals(
        repo_root, "connectors/webhook/payload.py", "govbus.parked.")
    assert parked == set(PARKED_SHAPED_HEADERS)
    assert _literals(repo_root, "consumers/sink.py", "govbus.dlq.") == set(PARKED_BAD_RECORD)
