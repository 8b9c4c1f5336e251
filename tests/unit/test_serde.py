"""Wire-format Avro: decoding with and without fastavro's logical-type conversions."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from memory_registry import MemoryRegistry

from govbus.serde import WireDecoder, WireEncoder, without_logical_types

SCHEMA = {
    "type": "record", "name": "Event", "fields": [
        {"name": "event_id", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "occurred_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "record", "type": ["null", {"type": "record", "name": "Record", "fields": [
            {"name": "founded", "type": ["null", {"type": "int", "logicalType": "date"}]},
            {"name": "names", "type": {"type": "array", "items": "string"}},
        ]}]},
    ],
}


def test_without_logical_types_values_come_as_avro_stores_them() -> None:
    registry = MemoryRegistry()
    event_id = uuid.uuid4()
    value = WireEncoder(registry, "s", SCHEMA).encode(  # type: ignore[arg-type]
        {"event_id": event_id, "occurred_at": dt.datetime(1970, 1, 1, 0, 0, 2, tzinfo=dt.UTC),
         "record": {"founded": dt.date(1970, 1, 11), "names": ["a"]}})
    converted = WireDecoder(registry).decode(value).value  # type: ignore[arg-type]
    raw = WireDecoder(registry, logical_types=False).decode(value).value  # type: ignore[arg-type]
    assert converted["event_id"] == event_id and converted["record"]["founded"] == dt.date(1970, 1, 11)
    assert raw == {"event_id": str(event_id), "occurred_at": 2000, "record": {"founded": 10, "names": ["a"]}}


def test_without_logical_types_strips_every_annotation_and_keeps_the_rest() -> None:
    plain = without_logical_types(SCHEMA)
    assert "logicalType" not in repr(plain)
    assert plain["fields"][1] == {"name": "occurred_at", "type": {"type": "long"}}
    assert without_logical_types(SCHEMA) == plain and "logicalType" in repr(SCHEMA)  # the input is left as it was


def test_an_encoding_error_names_the_field_never_the_value() -> None:
    from govbus.exceptions import SerdeError


    schema = {"type": "record", "name": "Person", "fields": [{"name": "resident_id", "type": "int"}]}
    encoder = WireEncoder(MemoryRegistry(), "people-value", schema)  # type: ignore[arg-type]
    with pytest.raises(SerdeError) as raised:
        encoder.encode({"resident_id": "110105194912310021"})
    assert "resident_id" in str(raised.value) and "110105194912310021" not in str(raised.value)
