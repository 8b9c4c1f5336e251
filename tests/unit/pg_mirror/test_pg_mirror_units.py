"""The mirror's pure parts: Avro -> PostgreSQL types, DDL and statements, keys, batches, settings."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from connectors.pg_mirror.columns import Column, adapt, columns_of, pg_type
from connectors.pg_mirror.plans import subscription_sources
from connectors.pg_mirror.settings import MirrorSettings
from connectors.pg_mirror.source import MirrorSource, RowChange
from connectors.pg_mirror.table import Existing, TableName, TableState, create, upsert_statement, widen
from connectors.pg_mirror.writer import last_per_key
from govbus.exceptions import ConfigurationError, DecodeError
from govbus.sharing.authorisation import authorise
from govbus.sharing.model import Grant, Subscription
from schemas.catalogue import load_catalogue


@pytest.mark.parametrize(("avro", "expected"), [
    ("string", ("text", False)),
    ("int", ("bigint", False)),
    ("long", ("bigint", False)),
    ("boolean", ("boolean", False)),
    ("double", ("double precision", False)),
    ("bytes", ("bytea", False)),
    ({"type": "int", "logicalType": "date"}, ("date", False)),
    ({"type": "long", "logicalType": "timestamp-millis"}, ("timestamptz", False)),
    ({"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}, ("numeric", False)),
    ({"type": "enum", "name": "E", "symbols": ["A"]}, ("text", False)),
    ({"type": "array", "items": "string"}, ("jsonb", False)),
    ({"type": "map", "values": "long"}, ("jsonb", False)),
    ({"type": "record", "name": "R", "fields": []}, ("jsonb", False)),
    (["null", "string"], ("text", True)),
    (["null", {"type": "int", "logicalType": "date"}], ("date", True)),
    (["null", "string", "long"], ("jsonb", True)),
    (["string", "long"], ("jsonb", False)),
])
def test_avro_types_map_to_postgres_types(avro: object, expected: tuple[str, bool]) -> None:
    assert pg_type(avro) == expected


def test_columns_keep_planned_fields_and_make_masked_ones_text() -> None:
    schema = load_catalogue().get("identity_verification").record_schema
    columns = {c.name: c for c in columns_of(schema, only={"resident_id", "birth_date", "name"},
                                             as_text={"birth_date"})}
    assert set(columns) == {"resident_id", "birth_date", "name"}
    assert columns["birth_date"].pg_type == "text"


def test_defaults_become_column_values() -> None:
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "n", "type": "int", "default": 1},
        {"name": "d", "type": {"type": "int", "logicalType": "date"}, "default": 1},
        {"name": "tags", "type": {"type": "array", "items": "string"}, "default": []},
        {"name": "note", "type": ["null", "string"], "default": None}]}
    columns = {c.name: c for c in columns_of(schema)}
    assert columns["n"].default == 1
    assert columns["d"].default == dt.date(1970, 1, 2)
    assert columns["tags"].default is not None
    assert columns["note"].default is None


def test_adapt_turns_values_into_what_the_column_takes() -> None:
    assert adapt(dt.date(2026, 1, 2), "text") == "2026-01-02"
    assert adapt({"a": dt.date(2026, 1, 2)}, "text") == '{"a": "2026-01-02"}'
    assert adapt(3, "double precision") == 3.0
    assert adapt(None, "jsonb") is None


TABLE = TableName("t")
KEY = ("id",)


def test_create_makes_the_key_the_primary_key_and_refuses_a_missing_key() -> None:
    change = create(TABLE, [Column("id", "text", False), Column("n", "bigint", True)], KEY)
    assert change.added == ["id", "n"]
    assert change.state.columns["n"] == Existing("bigint", True)
    with pytest.raises(ConfigurationError, match="key field"):
        create(TABLE, [Column("n", "bigint", True)], KEY)


def test_widen_adds_columns_relaxes_not_null_and_promotes_numbers() -> None:
    state = TableState({"id": Existing("text", False), "n": Existing("bigint", False),
                        "gone": Existing("text", False), "x": Existing("bigint", False)})
    columns = [Column("id", "text", False), Column("n", "bigint", True), Column("x", "double precision", False),
               Column("new", "text", True, "?")]
    change = widen(TABLE, state, columns, KEY)
    assert change.added == ["new"]
    text = " ; ".join(s.as_string(None) for s in change.statements)
    assert 'ADD COLUMN IF NOT EXISTS "new" text DEFAULT \'?\'' in text
    assert '"n" DROP NOT NULL' in text and '"gone" DROP NOT NULL' in text
    assert '"x" TYPE double precision' in text
    assert change.state.columns["x"].pg_type == "double precision"
    assert widen(TABLE, change.state, columns, KEY).statements == []


def test_widen_refuses_a_change_that_could_lose_rows() -> None:
    state = TableState({"id": Existing("text", False), "d": Existing("date", False)})
    with pytest.raises(ConfigurationError, match="migrate the column by hand"):
        widen(TABLE, state, [Column("id", "text", False), Column("d", "bigint", False)], KEY)


def test_text_and_jsonb_columns_hold_anything() -> None:
    state = TableState({"id": Existing("text", False), "s": Existing("text", False)})
    assert widen(TABLE, state, [Column("id", "text", False), Column("s", "date", False)], KEY).statements == []


def test_upsert_sets_columns_the_writer_lacks_to_their_default() -> None:
    state = TableState({"id": Existing("text", False), "a": Existing("text", True), "b": Existing("text", True)})
    statement = upsert_statement(TABLE, state, ["id", "a"], KEY).as_string(None)
    assert statement == ('INSERT INTO "t" ("id", "a") VALUES (%s, %s) ON CONFLICT ("id") '
                         'DO UPDATE SET "a" = EXCLUDED."a", "b" = DEFAULT')


def test_a_batch_keeps_the_last_change_per_key() -> None:
    changes = [RowChange(TABLE, ("a",), {"v": 1}), RowChange(TABLE, ("b",), {"v": 1}),
               RowChange(TABLE, ("a",), None), RowChange(TABLE, ("b",), {"v": 2}), RowChange(TABLE, ("a",), {"v": 3})]
    assert last_per_key(changes) == [changes[3], changes[4]]


def test_record_keys_are_split_and_typed() -> None:
    source = MirrorSource("x", "t", TABLE, ("project", "lot"), ("string", "int"), envelope=True)
    assert source.key_from_text("P-1|3") == ("P-1", 3)
    with pytest.raises(DecodeError):
        source.key_from_text("P-1")
    single = MirrorSource("x", "t", TABLE, ("id",), ("string",), envelope=True)
    assert single.key_from_text("a|b") == ("a|b",)
    assert single.record_of({"operation": "DELETE", "record_key": "k", "record": None}) == (None, "k")


def test_settings_need_exactly_one_source() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        MirrorSettings(mirror_dsn="dbname=x")
    with pytest.raises(ValidationError, match="exactly one"):
        MirrorSettings(mirror_item="credit_record", mirror_subscription="s")
    assert MirrorSettings(mirror_item="credit_record").name == "credit_record"


def _subscription(fields: list[str]) -> Subscription:
    return Subscription.model_validate({"name": "idv", "subscriber": "bank-kyc", "items": [
        {"item": "identity_verification", "fields": fields}], "delivery": {"kind": "postgres", "dsn_env": "X"}})


def test_a_subscription_whose_key_is_masked_is_refused() -> None:
    catalogue = load_catalogue()
    grant = Grant.model_validate({
        "grant_id": "g1", "subscriber": "bank-kyc", "item": "identity_verification", "approved_by": "public-security",
        "purpose": "account opening checks", "fields": ["resident_id", "name"],
        "expires_at": "2099-01-01T00:00:00+08:00"})
    subscription = _subscription(["resident_id", "name"])
    plans = authorise(subscription, catalogue, [grant])
    settings = MirrorSettings(mirror_subscription="idv")
    with pytest.raises(ConfigurationError, match="masked"):
        subscription_sources(settings, subscription, plans, catalogue)
    unmasked = grant.model_copy(update={"unmasked": ["resident_id"]})
    sources = subscription_sources(settings, subscription, authorise(subscription, catalogue, [unmasked]), catalogue)
    assert [str(s.table) for s in sources] == ["identity_verification"]
    assert sources[0].plan is not None and "name" in sources[0].plan.masked
