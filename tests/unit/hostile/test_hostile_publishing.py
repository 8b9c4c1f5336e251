"""Hostile input on the publishing paths, in process: the Publisher's validation and encoding (which the SDK,
the bulk file command and the gateway all run before anything is produced), the gateway's body parsing and
the bulk file reader. Each answer is a refusal naming a field and rule, or an event that encodes; nothing else
may come out (an exception of another kind is what became a 500 or a stopped load)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hostile_offline import CATALOGUE, DECODER, ITEMS, publisher_of, valid_records
from hypothesis import given, note
from hypothesis import strategies as st

from connectors.file_source import Rejection, read_records
from connectors.ingest_gateway.batch import JSON_LINES_TYPES, BadBody, parse_body
from govbus.exceptions import ValidationError
from govbus.publisher import Prepared
from testsupport.hostile import Hostile, budget, encoded, hostile, ran, shown, to_json_text

_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def prepared_or_refused(item: str, record: Any) -> Prepared | ValidationError:
    """What the Publisher makes of ``record``: an encoded event, or a refusal that names a field and a rule."""
    try:
        prepared = publisher_of(item).prepare(item, record)
    except ValidationError as refused:
        assert refused.field and refused.rule and refused.detail, refused
        return refused
    event = DECODER.decode(prepared.value).value
    assert event["record_key"] == prepared.key == CATALOGUE.get(item).key_of(event["record"])
    assert not any(_NOT_TEXT.search(text) for text in _strings(event["record"])), "a control character got through"
    return prepared


@budget("publisher.prepare")
@given(st.sampled_from(ITEMS), hostile())
def test_a_hostile_record_is_refused_with_field_and_rule_or_encodes_clean(item: str, gen: Hostile) -> None:
    ran("publisher.prepare")
    record = gen.record(gen.rng.choice(valid_records(item)))
    note(f"{item}: {shown(record)}")
    prepared_or_refused(item, record)


def _body(gen: Hostile) -> bytes:
    """A gateway request body: one hostile document, or JSON lines or an array mixing valid records with them."""
    valid = valid_records("enterprise_registration")
    parts = [encoded(to_json_text(gen.rng.choice(valid))) if gen.rng.random() < 0.4 else gen.json_body()
             for _ in range(gen.rng.randint(1, 5))]
    shape = gen.rng.random()
    if shape < 0.3:
        return parts[0]
    return b"\n".join(parts) if shape < 0.7 else b"[" + b",".join(parts) + b"]"


@budget("gateway.parse_body")
@given(hostile(), st.sampled_from(["application/json", JSON_LINES_TYPES[0], "text/plain"]))
def test_any_request_body_becomes_numbered_records_or_a_bad_body(gen: Hostile, content_type: str) -> None:
    ran("gateway.parse_body")
    body = _body(gen)
    note(f"{content_type}: {shown(body)}")
    try:
        parsed = parse_body(body, content_type)
    except BadBody as bad:  # 400, with the reason
        assert str(bad)
        return
    assert [entry.number for entry in parsed] == sorted({entry.number for entry in parsed})
    for entry in parsed:
        assert (entry.record is None) != (entry.rejection is None)
        if entry.record is not None:  # what the gateway does with it before producing anything
            prepared_or_refused("enterprise_registration", entry.record)


def _cell(gen: Hostile) -> bytes:
    pick = gen.rng.random()
    if pick < 0.6:
        return encoded(gen.string())
    if pick < 0.8:
        return gen.rng.randbytes(gen.rng.randint(0, 8))
    return gen.rng.choice([b'"quoted, with ""quotes"""', b'"open quote', b"x" * 140_000, b"\x00"])


def _file(gen: Hostile) -> tuple[bytes, str]:
    """A bulk file: CSV with hostile cells, or JSON lines mixing valid records with hostile lines."""
    valid = valid_records("enterprise_registration")
    if gen.rng.random() < 0.5:
        rows = [b",".join(_cell(gen) for _ in range(gen.rng.randint(1, len(valid[0]) + 1)))
                for _ in range(gen.rng.randint(0, 4))]
        return b"\n".join([",".join(valid[0]).encode(), *rows]) + b"\n", "csv"
    lines = [encoded(to_json_text(gen.rng.choice(valid))) if gen.rng.random() < 0.4 else gen.json_body()
             for _ in range(gen.rng.randint(0, 5))]
    return b"\n".join(lines), "jsonl"


@budget("bulk.read_records")
@given(hostile())
def test_any_file_is_read_line_by_line_into_records_or_rejections(tmp_path: Path, gen: Hostile) -> None:
    ran("bulk.read_records")
    content, fmt = _file(gen)
    note(f"{fmt}: {shown(content)}")
    path = tmp_path / f"hostile.{fmt}"
    path.write_bytes(content)
    for number, parsed in read_records(path, fmt):
        assert number >= 1
        if isinstance(parsed, Rejection):
            assert parsed.rule and parsed.reason
        else:
            prepared_or_refused("enterprise_registration", parsed)
