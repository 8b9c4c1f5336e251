"""Hostile input on the normaliser, in process: every message a worker's step (decode, deduplicate, normalise,
encode) can be handed, from random bytes to well-formed events whose fields hold anything their Avro type
allows, becomes exactly one canonical event or one dead letter with its reason, and a valid event handled in
the same run still comes out once (the step is the whole of a worker's per-message logic: what it raises
stops the worker). The dialects are also fuzzed alone: a record becomes canonical or a ValidationError naming
its field and rule, never another exception (which the step would only catch as ``unreadable``)."""

from __future__ import annotations

import datetime as dt
import functools
import random
import re
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from hostile_offline import DECODER, REGISTRY
from hypothesis import given, note
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from govbus.demo.dialect_samples import DialectSample, change_event, samples
from govbus.exceptions import ValidationError
from govbus.serde import WireEncoder
from govbus.topic_names import canonical_topic, dead_letter_topic
from streams.dead_letters import DeadLetter
from streams.dialects import ITEMS, Dialect, dialects_for
from streams.engine import Output
from streams.normaliser import NormaliseStep, item_normaliser
from streams.normalising.metrics import NormaliserMetrics
from streams.normalising.settings import NormaliserSettings
from testsupport.hostile import Hostile, budget, hostile, ran, shown

PREFIX = "govbus.hostile"
SETTINGS = NormaliserSettings(topic_prefix=PREFIX, normaliser_items=ITEMS)
DIALECTS = [(item, dialect.name) for item in ITEMS for dialect in dialects_for(item)]
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_INT, _LONG = 2**31 - 1, 2**63 - 1


class MemoryState:
    """The key state a Quix step gets (what deduplication uses of it)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any, ttl: Any = None) -> None:
        self.values[key] = value


def dialect_of(item: str, name: str) -> Dialect:
    return next(d for d in dialects_for(item) if d.name == name)


@functools.cache
def step_for(item: str, dialect: str) -> NormaliseStep:
    normaliser = item_normaliser(SETTINGS, item, REGISTRY, DECODER)  # type: ignore[arg-type]
    return NormaliseStep(normaliser, dialect_of(item, dialect).topic(PREFIX), SETTINGS,
                         NormaliserMetrics(CollectorRegistry()))


@functools.cache
def encoder_for(item: str, dialect: str) -> WireEncoder:
    return WireEncoder(REGISTRY, f"{PREFIX}.{item}.{dialect}-value",  # type: ignore[arg-type]
                       dialect_of(item, dialect).event_schema())


@functools.cache
def good_samples(item: str, dialect: str) -> tuple[DialectSample, ...]:
    return tuple(samples(item, dialect, 8, bad_share=0.0, seed=5))


def _without_surrogates(text: str) -> str:
    return "".join(c for c in text if not 0xD800 <= ord(c) <= 0xDFFF)  # Avro strings are UTF-8: none arrive


def typed_value(gen: Hostile, avro_type: Any, current: Any) -> Any:
    """A hostile value that Avro type ``avro_type`` still carries (what can really arrive on a topic)."""
    rng = gen.rng
    if isinstance(avro_type, list):
        branches = [t for t in avro_type if t != "null"]
        if ("null" in avro_type and rng.random() < 0.2) or not branches:
            return None
        return typed_value(gen, branches[0], current)
    if isinstance(avro_type, dict):
        logical, kind = avro_type.get("logicalType"), avro_type.get("type")
        if logical == "date":
            return dt.date(1, 1, 1) + dt.timedelta(days=rng.randint(0, 3_652_058))
        if logical in ("timestamp-millis", "timestamp-micros"):
            return dt.datetime(1, 1, 2, tzinfo=dt.UTC) + dt.timedelta(seconds=rng.randint(0, 315_537_000_000))
        if kind == "enum":
            return rng.choice(avro_type["symbols"])
        return current  # arrays and records: kept as they were
    if avro_type == "string":
        return _without_surrogates(gen.string() if rng.random() < 0.7 else gen.with_control(str(current or "x")))
    if avro_type in ("int", "long"):
        largest = _INT if avro_type == "int" else _LONG
        return rng.choice([largest, -largest - 1, 0, rng.randint(-largest - 1, largest)])
    return current


def hostile_event(gen: Hostile, item: str, dialect: str) -> dict[str, Any]:
    """A well-formed event of ``dialect`` whose record fields (and sometimes envelope) are hostile."""
    sample = gen.rng.choice(good_samples(item, dialect))
    event = change_event(sample, dialect_of(item, dialect).department, gen.rng)
    record = dict(sample.local)
    for field in gen.rng.sample(dialect_of(item, dialect).schema["fields"], k=gen.rng.randint(1, 3)):
        record[field["name"]] = typed_value(gen, field["type"], record.get(field["name"]))
    event["record"] = record
    pick = gen.rng.random()
    if pick < 0.1:
        event.update(operation="DELETE", record=None, record_key=_without_surrogates(gen.string()))
    elif pick < 0.15:
        event["department"] = _without_surrogates(gen.string())
    elif pick < 0.2:
        event["data_item"] = gen.rng.choice([*ITEMS, "", "x"])
    return event


def hostile_bytes(gen: Hostile, valid: bytes) -> bytes | None:
    """Bytes that are not a valid event: random, a wire header with a random or unknown body, cut or flipped."""
    rng = gen.rng
    pick = rng.random()
    if pick < 0.2:
        return rng.randbytes(rng.randint(0, 40))
    if pick < 0.35:
        return valid[:5] + rng.randbytes(rng.randint(0, 60))
    if pick < 0.45:
        return b"\x00" + rng.randint(0, 2**32 - 1).to_bytes(4, "big") + valid[5:]
    if pick < 0.6:
        return valid[: rng.randint(0, len(valid) - 1)]
    if pick < 0.65:
        return None
    flipped = bytearray(valid)
    for _ in range(rng.randint(1, 4)):
        flipped[rng.randrange(5, len(flipped))] = rng.randrange(256)
    return bytes(flipped)


def check_output(outputs: list[Output], item: str, raw: bytes | None, key: bytes | None) -> str:
    """One output: a canonical event without control characters, or a dead letter with its reason; which."""
    assert len(outputs) == 1, outputs
    [output] = outputs
    if output.topic == canonical_topic(item, PREFIX):
        event = DECODER.decode(output.value).value
        texts = [v for v in (event["record"] or {}).values() if isinstance(v, str)]
        assert not any(_NOT_TEXT.search(text) for text in texts), "a control character reached the canonical topic"
        return "canonical"
    assert output.topic == dead_letter_topic(item, PREFIX)
    letter = DeadLetter.from_headers(output.headers)
    assert letter.reason and letter.stage in ("decode", "validate", "encode") and letter.rule, letter
    assert (output.key, output.value) == (key, raw), "a dead letter keeps the original key and bytes"
    return "dead letter"


@pytest.fixture
def context(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The Quix message context the step reads (topic, partition, offset), set by the test per message."""
    current = SimpleNamespace(topic="", partition=0, offset=0)
    monkeypatch.setattr("streams.normaliser.message_context", lambda: current)
    return current


@budget("normaliser.step")
@given(st.sampled_from(DIALECTS), hostile())
def test_every_hostile_message_is_one_dead_letter_and_the_valid_one_comes_out_once(
        context: SimpleNamespace, dialect: tuple[str, str], gen: Hostile) -> None:
    ran("normaliser.step")
    item, name = dialect
    step, encoder = step_for(item, name), encoder_for(item, name)
    context.topic = dialect_of(item, name).topic(PREFIX)
    valid_event = change_event(gen.rng.choice(good_samples(item, name)), dialect_of(item, name).department, gen.rng)
    valid = encoder.encode(valid_event)
    event = hostile_event(gen, item, name)
    raw = encoder.encode(event) if gen.rng.random() < 0.6 else hostile_bytes(gen, valid)
    key = gen.rng.choice([None, b"", str(uuid.uuid4()).encode(), gen.rng.randbytes(8)])
    note(f"{item}/{name} key={key!r} raw={shown(raw)} event={shown(event)}")
    context.offset += 1  # Quix scopes state by message key: each key its own
    assert check_output(step(raw, key, 0, [], MemoryState()), item, raw, key) in ("canonical", "dead letter")
    state = MemoryState()
    context.offset += 1
    assert check_output(step(valid, b"k", 0, [], state), item, valid, b"k") == "canonical"
    assert step(valid, b"k", 0, [], state) == [], "a re-sent valid event comes out once"


@budget("normaliser.dialects")
@given(st.sampled_from(DIALECTS), hostile())
def test_a_dialect_makes_any_typed_record_canonical_or_names_field_and_rule(dialect: tuple[str, str],
                                                                            gen: Hostile) -> None:
    ran("normaliser.dialects")
    item, name = dialect
    local = hostile_event(gen, item, name)["record"] or dict(good_samples(item, name)[0].local)
    note(f"{item}/{name}: {shown(local)}")
    try:
        normalised = dialect_of(item, name).normalise(local)
    except ValidationError as refused:
        assert refused.field and refused.rule and refused.detail
        return
    assert dialect_of(item, name).item.validate(normalised.record) == normalised.record


def test_a_seed_gives_the_same_hostile_values() -> None:
    assert [Hostile(7).string() for _ in range(3)] == [Hostile(7).string() for _ in range(3)]
    assert random.Random(7).random() == Hostile(7).rng.random()
