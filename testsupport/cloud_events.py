"""Reading govbus records as CloudEvents with the CloudEvents SDK's Kafka binding (binary content mode), and checking
the attributes against what the envelope or profile says, in the forms :mod:`govbus.cloud_events` documents.

The checks restate those forms here rather than calling govbus's builders, so they test the contract a generic
consumer relies on, not the code against itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary
from cloudevents.core.formats.json import JSONFormat
from confluent_kafka import Message

RawHeaders = Iterable[tuple[str, bytes | str | None]] | None


class _OpaqueData(JSONFormat):
    """The event's data as the bytes of the record's value: Avro, which govbus's decoder reads, not the SDK."""

    def read_data(self, body: bytes, datacontenttype: str | None) -> bytes | None:
        return body or None


def cloud_event(headers: RawHeaders, key: bytes | None, value: bytes | None) -> BaseCloudEvent:
    """The record as the SDK reads it (``from_binary``: ``ce_*`` headers, ``content-type``, the key as
    ``partitionkey``); raises the SDK's validation error when a required attribute is missing or malformed."""
    as_bytes = {name: item.encode() if isinstance(item, str) else item
                for name, item in (headers or []) if item is not None}
    return from_binary(KafkaMessage(as_bytes, key, value or b""), _OpaqueData())


def schema_id_of(value: bytes) -> int:
    """The schema id of a Confluent wire-format value (bytes 1-4 after the magic byte)."""
    return int.from_bytes(value[1:5], "big")


def check_change_event(message: Message, envelope: Mapping[str, Any], registry_url: str) -> BaseCloudEvent:
    """``message`` (of a department or canonical topic) read as a CloudEvent has the attributes of ``envelope``
    (its value decoded with logical types, e.g. by :class:`govbus.serde.WireDecoder`)."""
    value = message.value()
    assert isinstance(value, bytes)
    event = cloud_event(message.headers(), message.key(), value)
    attributes = event.get_attributes()
    assert attributes["specversion"] == "1.0"
    assert event.get_id() == str(envelope["event_id"])
    assert event.get_source() == f"/govbus/{envelope['department']}/{envelope['source_system']}"
    assert event.get_type() == f"gov.govbus.{envelope['data_item']}.{str(envelope['operation']).lower()}"
    assert event.get_time() == envelope["occurred_at"]
    assert event.get_subject() == envelope["record_key"] == (message.key() or b"").decode()
    _check_data(event, value, registry_url)
    return event


def check_profile_event(headers: RawHeaders, key: bytes, value: bytes | None, profile: str, event_id: str,
                        caused_at: dt.datetime, registry_url: str) -> BaseCloudEvent:
    """A profile topic's record (a tombstone when ``value`` is None) read as a CloudEvent: the profile event's id,
    the profile as source, updated or deleted, the causing change's time and the profile key as subject."""
    event = cloud_event(headers, key, value)
    assert event.get_attributes()["specversion"] == "1.0"
    assert event.get_id() == event_id
    assert event.get_source() == f"/govbus/profiles/{profile}"
    assert event.get_type() == f"gov.govbus.profile.{profile}.{'deleted' if value is None else 'updated'}"
    assert event.get_time() == caused_at
    assert event.get_subject() == key.decode()
    if value is None:
        assert event.get_data() is None and event.get_datacontenttype() is None and event.get_dataschema() is None
    else:
        _check_data(event, value, registry_url)
    return event


def _check_data(event: BaseCloudEvent, value: bytes, registry_url: str) -> None:
    """The data is the value as it is, and ``dataschema`` and ``content-type`` name its writer schema."""
    dataschema = f"{registry_url.rstrip('/')}/schemas/ids/{schema_id_of(value)}"
    assert event.get_dataschema() == dataschema
    assert event.get_datacontenttype() == f'application/avro; schema="{dataschema}"'
    assert event.get_data() == value
