"""Hostile input on the PostgreSQL mirror, in process: every value a decoded event can carry becomes something
PostgreSQL stores (no NUL in text or jsonb, no NaN in jsonb: each stopped every mirror of its item), and every
message of a mirrored topic becomes a row change or a DecodeError (a bad event, handled by the
GOVBUS_MIRROR_BAD_EVENTS policy), never another exception, which would stop the mirror."""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import json
import uuid
from dataclasses import dataclass
from typing import Any

from hostile_offline import CATALOGUE, REGISTRY, valid_records
from hypothesis import given, note
from hypothesis import strategies as st

from connectors.pg_mirror.columns import BIGINT, BOOLEAN, BYTEA, DATE, DOUBLE, JSONB, TEXT, TIMESTAMPTZ, adapt, dumps
from connectors.pg_mirror.plans import item_sources
from connectors.pg_mirror.settings import MirrorSettings
from connectors.pg_mirror.source import ChangeReader, MirrorSource, RowChange
from govbus.exceptions import DecodeError
from govbus.serde import WireEncoder
from govbus.topic_names import value_subject
from testsupport.hostile import Hostile, budget, hostile, ran, shown

PREFIX = "govbus.hostile"
ITEMS = CATALOGUE.names()


def avro_value(gen: Hostile, depth: int = 0) -> Any:
    """A value as fastavro decodes one: text (UTF-8, so no lone surrogates: fastavro refuses them), numbers
    (non-finite floats too), bytes, dates, times, decimals, uuids, and lists and maps of them."""
    rng = gen.rng
    pick = rng.random()
    if pick < 0.3:
        return _without_surrogates(gen.string())
    if pick < 0.45:
        number = gen.number()  # an Avro long at most
        return number % 2**63 if isinstance(number, int) and not -(2**63) <= number < 2**63 else number
    if pick < 0.5:
        return rng.randbytes(rng.randint(0, 6))
    if pick < 0.55:
        return dt.date(1, 1, 1) + dt.timedelta(days=rng.randint(0, 3_652_058))
    if pick < 0.6:
        return dt.datetime(1, 1, 2, tzinfo=dt.UTC) + dt.timedelta(microseconds=rng.randint(0, 3 * 10**17))
    if pick < 0.63:
        return decimal.Decimal(rng.choice(["NaN", "1e999", "-0.000001", "123.45"]))
    if pick < 0.65:
        return uuid.UUID(int=rng.getrandbits(128))
    if depth < 3 and pick < 0.8:
        return [avro_value(gen, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth < 3:
        return {_without_surrogates(gen.key()): avro_value(gen, depth + 1) for _ in range(rng.randint(0, 3))}
    return None


def _strict_json(text: str) -> Any:
    """``text`` read as jsonb would: no NaN or Infinity, and no NUL in any string or key."""
    def refuse(constant: str) -> Any:
        raise AssertionError(f"jsonb refuses {constant}")

    def no_nul(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        assert not any("\x00" in k or (isinstance(v, str) and "\x00" in v) for k, v in pairs), "jsonb refuses NUL"
        return dict(pairs)

    document = json.loads(text, parse_constant=refuse, object_pairs_hook=no_nul)
    assert not (isinstance(document, str) and "\x00" in document)
    assert not (isinstance(document, list) and any(isinstance(v, str) and "\x00" in v for v in document))
    return document


@budget("mirror.values")
@given(hostile())
def test_every_decoded_value_becomes_one_postgresql_stores(gen: Hostile) -> None:
    ran("mirror.values")
    value = avro_value(gen)
    note(shown(value))
    text = adapt(value, TEXT)
    assert text is None or (isinstance(text, str) and "\x00" not in text)
    _strict_json(dumps(value))
    for kind in (BIGINT, DOUBLE, BOOLEAN, BYTEA, DATE, TIMESTAMPTZ):
        bound = adapt(value, kind)
        assert not (isinstance(bound, str) and "\x00" in bound)


@dataclass(frozen=True)
class Message:
    """A consumed message as the mirror reads it."""

    topic_name: str
    raw: bytes | None
    raw_key: bytes | None
    position: int = 0

    def topic(self) -> str:
        return self.topic_name

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self.position

    def key(self) -> bytes | None:
        return self.raw_key

    def value(self) -> bytes | None:
        return self.raw


@functools.cache
def source_of(item: str) -> MirrorSource:
    [source] = item_sources(MirrorSettings(mirror_item=item, topic_prefix=PREFIX), CATALOGUE)
    return source


@functools.cache
def reader() -> ChangeReader:
    return ChangeReader([source_of(item) for item in ITEMS], REGISTRY)  # type: ignore[arg-type]


@functools.cache
def encoder(item: str, schema_text: str) -> WireEncoder:
    return WireEncoder(REGISTRY, value_subject(source_of(item).topic), json.loads(schema_text))  # type: ignore[arg-type]


def _hostile_event_schema(gen: Hostile, item: str) -> dict[str, Any]:
    """The item's event schema, or one a hostile writer registered: a field no column can be named after, or a
    record field that is no record."""
    schema = CATALOGUE.get(item).event_schema()
    pick = gen.rng.random()
    if pick < 0.05:
        record = schema["fields"][-1]["type"][1]
        record["fields"] = [*record["fields"], {"name": "x" * 70, "type": ["null", "string"], "default": None}]
    elif pick < 0.1:
        schema["fields"][-1] = {"name": "record", "type": ["null", "string"], "default": None}
    return schema


def _record(gen: Hostile, item: str, schema: dict[str, Any]) -> Any:
    record_type = schema["fields"][-1]["type"][1]
    if not isinstance(record_type, dict):
        return _without_surrogates(gen.string())
    record = dict(CATALOGUE.get(item).validate(gen.rng.choice(valid_records(item))))
    for field in record_type["fields"]:
        value = record.get(field["name"])
        text_field = field["type"] in ("string", ["null", "string"])
        if text_field and isinstance(value, str) and gen.rng.random() < 0.4:  # as held before the text rule
            record[field["name"]] = _without_surrogates(gen.with_control(value) if gen.rng.random() < 0.6
                                                        else gen.string())
        elif field["name"] not in record:
            record[field["name"]] = None
    return record


def _without_surrogates(text: str) -> str:
    return "".join(c for c in text if not 0xD800 <= ord(c) <= 0xDFFF)


def _message(gen: Hostile, item: str) -> Message:
    topic = source_of(item).topic
    schema = _hostile_event_schema(gen, item)
    key = _without_surrogates(gen.string()).encode() if gen.rng.random() < 0.5 else None
    event = {"event_id": str(uuid.uuid4()), "data_item": item, "department": "x", "source_system": "x",
             "operation": "UPSERT", "record_key": _without_surrogates(gen.string()),
             "occurred_at": dt.datetime.now(dt.UTC), "published_at": dt.datetime.now(dt.UTC), "trace_id": "t",
             "record": _record(gen, item, schema)}
    pick = gen.rng.random()
    if pick < 0.1:
        event.update(operation="DELETE", record=None)
    raw = encoder(item, json.dumps(schema)).encode(event)
    if pick < 0.2:
        return Message(topic, None, key)  # a tombstone
    if pick < 0.35:
        return Message(topic, raw[: gen.rng.randint(0, len(raw))], key)
    if pick < 0.45:
        return Message(topic, gen.rng.randbytes(gen.rng.randint(0, 30)), key)
    return Message(topic, raw, key)


@budget("mirror.change_reader")
@given(st.sampled_from(ITEMS), hostile())
def test_every_message_becomes_a_row_change_or_a_bad_event(item: str, gen: Hostile) -> None:
    ran("mirror.change_reader")
    message = _message(gen, item)
    note(f"{item}: key={message.raw_key!r} value={shown(message.raw)}")
    try:
        change = reader().change(message)
    except DecodeError as bad:
        assert str(bad)
        return
    assert isinstance(change, RowChange) and change.table == source_of(item).table
    for column in change.columns:
        bound = adapt((change.record or {}).get(column.name), column.pg_type)
        assert not (isinstance(bound, str) and "\x00" in bound)
        if column.pg_type == JSONB and bound is not None:
            _strict_json(dumps(bound.obj))
