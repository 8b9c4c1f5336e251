"""Parsing HTTP inputs, log records and settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from schemas.registry.canonical import Reference
from schemas.registry.errors import BadRequest, InvalidMode, InvalidSchema, InvalidVersion, SchemaNotFound
from schemas.registry.inputs import flag, page, parse_json_object, parse_schema_id, parse_schema_request, parse_version
from schemas.registry.modes import Mode
from schemas.registry.records import (
    ConfigRecord,
    IdHighWaterRecord,
    MalformedRecord,
    ModeRecord,
    PrimaryRecord,
    SchemaRecord,
    SchemaValue,
    StoreRecord,
    decode,
    encode,
)
from schemas.registry.settings import RegistrySettings


@pytest.mark.parametrize(
    ("text", "expected"), [("latest", "latest"), ("-1", "latest"), ("1", 1), ("2147483647", 2**31 - 1)]
)
def test_valid_versions(text: str, expected: object) -> None:
    assert parse_version(text) == expected


@pytest.mark.parametrize("text", ["0", "-2", "abc", "2147483648", "1.5", " 1", "", "LATEST", "١"])
def test_invalid_versions(text: str) -> None:
    with pytest.raises(InvalidVersion) as caught:
        parse_version(text)
    assert caught.value.error_code == 42202 and f"'{text}'" in caught.value.message


@pytest.mark.parametrize("text", ["abc", "-1", "99999999999", "1e3"])
def test_impossible_schema_ids_are_not_found(text: str) -> None:
    with pytest.raises(SchemaNotFound):
        parse_schema_id(text)


def test_flags_accept_both_spellings_the_client_sends() -> None:
    assert flag({"deleted": "true"}, "deleted") and flag({"deleted": "True"}, "deleted")
    assert (
        not flag({"deleted": "False"}, "deleted") and not flag({}, "deleted") and not flag({"deleted": "1"}, "deleted")
    )


def test_paging() -> None:
    items = list(range(10))
    assert page(items, {}) == items
    assert page(items, {"offset": "2", "limit": "3"}) == [2, 3, 4]
    assert page(items, {"offset": "x", "limit": "-1"}) == items


@pytest.mark.parametrize("raw", [b"", b"{", b"[1]", b'"s"', b"\xff\xfe", b"[" * 50000])
def test_bodies_must_be_json_objects(raw: bytes) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_json_object(raw)
    assert caught.value.http_status == 400


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"schema": "{}", "schemaType": "JSON"}, "only AVRO is supported"),
        ({"schema": "{}", "schemaType": "PROTOBUF"}, "only AVRO is supported"),
        ({"schemaType": "AVRO"}, '"schema"'),
        ({"schema": {"type": "int"}}, '"schema"'),
        ({"schema": "  "}, '"schema"'),
        ({"schema": '"int"', "references": "x"}, "references"),
        ({"schema": '"int"', "references": [{"name": "a", "subject": "s", "version": 0}]}, "reference"),
        ({"schema": '"int"', "references": [{"name": "a", "subject": "s", "version": True}]}, "reference"),
        ({"schema": '"int"', "references": [{"name": "a", "subject": "s", "version": 2.5}]}, "reference"),
        ({"schema": '"int"', "ruleSet": {"domainRules": []}}, "ruleSet"),
    ],
)
def test_schema_bodies_are_validated(body: dict[str, object], expected: str) -> None:
    with pytest.raises(InvalidSchema) as caught:
        parse_schema_request(body)
    assert caught.value.error_code == 42201 and expected in caught.value.message


def test_a_valid_schema_body() -> None:
    body = {"schema": '"int"', "schemaType": "avro", "references": [{"name": "a", "subject": "s", "version": 2}]}
    request = parse_schema_request(body)
    assert request.schema == '"int"' and request.references == (Reference("a", "s", 2),)


def test_a_reference_version_may_be_written_as_a_whole_float() -> None:
    """JSON (and JSON Schema's integer, which the OpenAPI document uses) does not tell 2 from 2.0: found by
    schemathesis, a document-valid body that was refused."""
    body = {"schema": '"int"', "references": [{"name": "a", "subject": "s", "version": 2.0}]}
    assert parse_schema_request(body).references == (Reference("a", "s", 2),)


def test_modes() -> None:
    assert Mode.parse("readonly") is Mode.READONLY
    for bad in ("IMPORT", "WRITEONLY", None):
        with pytest.raises(InvalidMode) as caught:
            Mode.parse(bad)
        assert caught.value.error_code == 42204 and "READWRITE" in caught.value.message


RECORDS: list[StoreRecord] = [
    SchemaRecord("s", 3, SchemaValue(7, '"int"', (Reference("n", "t", 1),), deleted=True)),
    SchemaRecord("s", 3, None),
    ConfigRecord(None, "FULL"),
    ConfigRecord("s", None),
    ModeRecord("s", "READONLY"),
    ModeRecord(None, None),
    IdHighWaterRecord(12),
    PrimaryRecord(4, "abc", "http://h:1"),
]


@pytest.mark.parametrize("record", RECORDS)
def test_records_round_trip(record: StoreRecord) -> None:
    key, value = encode(record)
    assert decode(key, value) == record


def test_keys_are_stable_bytes_so_compaction_works() -> None:
    deleted = SchemaRecord("s", 3, SchemaValue(1, '"int"', deleted=True))
    assert encode(deleted)[0] == encode(SchemaRecord("s", 3, None))[0] == b'{"kind":"schema","subject":"s","version":3}'
    assert encode(PrimaryRecord(1, "a", "u"))[0] != encode(PrimaryRecord(1, "b", "u"))[0]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (None, b"{}"),
        (b"not json", b"{}"),
        (b'{"kind":"bogus"}', b"{}"),
        (b'{"kind":"schema","subject":"s"}', b'{"id":1,"schema":"x"}'),
        (b'{"kind":"schema","subject":"s","version":"1"}', None),
        (b'{"kind":"schema","subject":"s","version":1}', b'{"id":"1","schema":"x"}'),
        (b'{"kind":"id_hwm"}', None),
        (b'["list"]', None),
    ],
)
def test_malformed_records_are_reported(key: bytes | None, value: bytes | None) -> None:
    with pytest.raises(MalformedRecord):
        decode(key, value)


def test_settings_from_environment_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVBUS_KAFKA__BOOTSTRAP", "broker:1234")
    monkeypatch.setenv("GOVBUS_REGISTRY_PORT", "9999")
    settings = RegistrySettings(registry_topic="reg")
    assert settings.kafka.bootstrap == "broker:1234" and settings.registry_port == 9999
    assert settings.advertised_url() == "http://127.0.0.1:9999"
    assert settings.election_group() == "govbus-registry-election.reg"
    assert settings.election_topic() == "reg-election"
    assert RegistrySettings(registry_advertised_url="http://x:1/").advertised_url() == "http://x:1"


def test_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GOVBUS_KAFKA__BOOTSTRAP", "GOVBUS_REGISTRY_PORT", "GOVBUS_REGISTRY_TOPIC", "GOVBUS_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    settings = RegistrySettings()
    assert (settings.kafka.bootstrap, settings.registry_host, settings.registry_port) == (
        "127.0.0.1:9092",
        "127.0.0.1",
        8081,
    )
    assert settings.registry_topic == "_govbus_schemas" and settings.registry_session_timeout_ms == 6000


@pytest.mark.parametrize(
    "bad",
    [
        {"unknown_field": 1},
        {"registry_port": 0},
        {"registry_topic": "bad topic"},
        {"log_level": "LOUD"},
        {"registry_advertised_url": "ftp://x"},
    ],
)
def test_bad_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RegistrySettings(**bad)  # type: ignore[arg-type]
