"""The CloudEvents headers' forms (govbus.cloud_events), read back by the CloudEvents SDK's Kafka binding."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from govbus.cloud_events import (
    change_attributes,
    change_headers,
    change_source,
    rfc3339,
    schema_reference,
)
from testsupport.cloud_events import cloud_event

EVENT = {
    "event_id": uuid.UUID("0f5c2a52-6a8e-4d7c-9a43-2f1b8e2b1d10"), "data_item": "identity_verification",
    "department": "public-security", "source_system": "household-registry", "operation": "DELETE",
    "record_key": "110101199003074514", "occurred_at": dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC),
    "published_at": dt.datetime(2026, 1, 2, 3, 4, 6, tzinfo=dt.UTC), "trace_id": "t", "record": None,
}


@pytest.mark.parametrize(("moment", "text"), [
    (dt.datetime(2026, 1, 2, 11, 4, 5, 678901, tzinfo=dt.timezone(dt.timedelta(hours=8))), "2026-01-02T03:04:05.678Z"),
    (dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "2026-01-02T03:04:05.000Z"),
    (1767323045678, "2026-01-02T03:04:05.678Z"),
    (-1, "1969-12-31T23:59:59.999Z"),
])
def test_times_are_rfc3339_utc_milliseconds(moment: dt.datetime | int, text: str) -> None:
    assert rfc3339(moment) == text


def test_sources_and_schema_references_are_uris_without_secrets() -> None:
    assert change_source("market-regulation", "a/b c") == "/govbus/market-regulation/a%2Fb%20c"
    assert schema_reference("https://user:secret@registry.example:8081/sr/", 7) == \
        "https://registry.example:8081/sr/schemas/ids/7"


def test_the_sdk_reads_a_change_event_s_headers_as_its_attributes() -> None:
    value = b"\x00\x00\x00\x00\x07avro"
    event = cloud_event(change_headers(EVENT, "http://registry:8081", 7), EVENT["record_key"].encode(), value)
    assert event.get_attributes()["specversion"] == "1.0"
    assert (event.get_id(), event.get_source(), event.get_type(), event.get_subject()) == (
        str(EVENT["event_id"]), "/govbus/public-security/household-registry", "gov.govbus.identity_verification.delete",
        "110101199003074514")
    assert event.get_time() == EVENT["occurred_at"]
    assert event.get_dataschema() == "http://registry:8081/schemas/ids/7"
    assert event.get_datacontenttype() == 'application/avro; schema="http://registry:8081/schemas/ids/7"'
    assert event.get_data() == value


def test_an_event_without_data_has_no_content_type() -> None:
    attributes = change_attributes(EVENT, None)
    headers = dict(attributes.headers())
    assert "content-type" not in headers and "ce_dataschema" not in headers
    assert set(headers) == {"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject"}
    assert cloud_event(attributes.headers(), b"k", None).get_data() is None
