"""The gateway's event ids derived from an Idempotency-Key: the same for the same batch record, different when the
department, the item, the key, the record's number or the record differs; and which keys the header may carry."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from connectors.ingest_gateway.idempotency import MAX_IDEMPOTENCY_KEY, NAMESPACE, key_problem, record_event_id
from connectors.ingest_gateway.openapi import EXAMPLE_ITEM, EXAMPLE_RECORD
from govbus.exceptions import ValidationError

DEPARTMENT = "market-regulation"
KEY = "5f0c4b8e-2a7d-4d1e-9c3b-7e6a1d2f4b90"


def _id(department: str = DEPARTMENT, item: str = EXAMPLE_ITEM, key: str = KEY, number: int = 1,
        record: dict[str, Any] | None = None) -> uuid.UUID:
    return record_event_id(department, item, key, number, EXAMPLE_RECORD if record is None else record)


def test_the_same_record_of_the_same_batch_gets_the_same_version_5_id() -> None:
    first = _id()
    assert first == _id() and first.version == 5 and first.variant == uuid.RFC_4122
    assert _id(record=dict(reversed(EXAMPLE_RECORD.items()))) == first  # fields in another order: the same record


def test_the_ids_stay_what_they_were() -> None:
    """A changed namespace or name would give a batch sent again across a gateway upgrade new ids: its repeats
    would no longer be dropped."""
    assert NAMESPACE == uuid.UUID("a82fe7fb-d7b4-4e3d-a61a-4932a6751a30")
    # uuid5(NAMESPACE, '["d","i","k",1,{"a":1}]'), computed apart from the code
    assert record_event_id("d", "i", "k", 1, {"a": 1}) == uuid.UUID("da150054-c626-57ad-9e07-e532124723c1")


@pytest.mark.parametrize("other", [
    {"department": "taxation"},
    {"item": "credit_record"},
    {"key": KEY.upper()},
    {"key": KEY + " "},
    {"number": 2},
    {"record": {**EXAMPLE_RECORD, "status": "CANCELLED"}},
])
def test_any_other_part_gives_another_id(other: dict[str, Any]) -> None:
    assert _id(**other) != _id()


def test_a_record_and_its_number_cannot_be_confused_across_parts() -> None:
    assert record_event_id("a", "b|c", "k", 1, {}) != record_event_id("a|b", "c", "k", 1, {})
    assert record_event_id("a", "b", "k1", 1, {}) != record_event_id("a", "b", "k", 11, {})


def test_a_record_with_a_lone_surrogate_or_nested_deep_gets_an_id_or_a_rejection() -> None:
    assert _id(record={**EXAMPLE_RECORD, "name": "\ud800"}).version == 5
    nested: Any = "x"
    for _ in range(100_000):
        nested = [nested]
    with pytest.raises(ValidationError) as refused:
        _id(record={**EXAMPLE_RECORD, "name": nested})
    assert refused.value.rule == "record.nesting"


@pytest.mark.parametrize("key", ["a", KEY, "batch 2026-12-04 #7", "~" * MAX_IDEMPOTENCY_KEY, '"quoted"'])
def test_printable_ascii_keys_are_taken(key: str) -> None:
    assert key_problem(key) is None


@pytest.mark.parametrize(("key", "reason"), [
    ("", "is empty"),
    ("k" * (MAX_IDEMPOTENCY_KEY + 1), f"longer than {MAX_IDEMPOTENCY_KEY}"),
    ("ab\tc", "character 3 is U+0009"),
    ("\x00", "U+0000"),
    ("key\x7f", "U+007F"),
    ("clé", "character 3 is U+00E9"),
    ("批次", "U+6279"),
    ("\udcff", "U+DCFF"),
])
def test_other_keys_are_refused_saying_why(key: str, reason: str) -> None:
    problem = key_problem(key)
    assert problem is not None and reason in problem
    if len(key) > 1:
        assert key not in problem  # the reason never repeats the key
