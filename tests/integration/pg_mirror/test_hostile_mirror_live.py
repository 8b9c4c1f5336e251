"""Hostile values against a live PostgreSQL: the mirror's writer stores every row change an event can make
(NUL and other control characters in text, keys and jsonb, non-finite numbers, deep and odd jsonb), the valid
rows written alongside end up once each; and the mirror process, handed events with a NUL from before the
catalogue refused them, keeps mirroring instead of stopping (issue #11: one NUL stopped every mirror of its item)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from hypothesis import given, note
from mirror_support import MirrorProcess, as_rows, keyed_rows, table_rows, wait_for

from connectors.pg_mirror.columns import REPLACEMENT, columns_of
from connectors.pg_mirror.source import RowChange
from connectors.pg_mirror.table import TableName
from connectors.pg_mirror.writer import PgWriter
from govbus.demo.synthetic_items import records_for
from schemas.catalogue import load_catalogue
from testsupport.canonical import CanonicalWriter, Step
from testsupport.hostile import Hostile, budget, hostile, ran, shown

ITEM = load_catalogue().get("real_estate_registration")
TABLE = TableName("hostile_titles")


def _no_surrogates(text: str) -> str:
    return "".join(c for c in text if not 0xD800 <= ord(c) <= 0xDFFF)  # Avro strings are UTF-8: none arrive


def _json(gen: Hostile, depth: int = 0) -> Any:
    """What a decoded jsonb field may hold: text with controls, any number, nested lists and maps."""
    pick = gen.rng.random()
    if pick < 0.4 or depth > 3:
        return _no_surrogates(gen.string())
    if pick < 0.6:
        number = gen.number()
        return number % 2**63 if isinstance(number, int) else number
    if pick < 0.8:
        return [_json(gen, depth + 1) for _ in range(gen.rng.randint(0, 3))]
    return {_no_surrogates(gen.key()): _json(gen, depth + 1) for _ in range(gen.rng.randint(0, 3))}


def _hostile_record(gen: Hostile, base: dict[str, Any]) -> dict[str, Any]:
    record = dict(base)
    for field in ITEM.record_schema["fields"]:
        if field["type"] in ("string", ["null", "string"]) and gen.rng.random() < 0.5:
            record[field["name"]] = _no_surrogates(gen.with_control(str(record.get(field["name"]) or "x"))
                                                   if gen.rng.random() < 0.6 else gen.string())
    record["encumbrances"] = [_json(gen) for _ in range(gen.rng.randint(0, 3))]
    record["certificate_number"] = "hostile-" + str(record["certificate_number"])
    return record


def test_hostile_rows_are_stored_and_valid_ones_written_alongside_are_there_once(mirror_dsn: str) -> None:
    columns = tuple(columns_of(ITEM.record_schema))
    writer = PgWriter(mirror_dsn, {TABLE: ITEM.key_fields})
    records = {ITEM.key_of(r): r for r in (ITEM.validate(s.record) for s in records_for(ITEM, 800, seed=71))}
    pool = iter(records.values())
    valid: dict[str, dict[str, Any]] = {}

    @budget("mirror.live")
    @given(hostile())
    def one_batch(gen: Hostile) -> None:
        ran("mirror.live")
        changes = []
        for _ in range(gen.rng.randint(1, 6)):
            pick = gen.rng.random()
            if pick < 0.4:
                record = next(pool)
                valid[record["certificate_number"]] = record
                changes.append(RowChange(TABLE, (record["certificate_number"],), record, columns))
            elif pick < 0.85:
                record = _hostile_record(gen, gen.rng.choice(list(records.values())[:20]))
                changes.append(RowChange(TABLE, (record["certificate_number"],), record, columns))
            else:
                changes.append(RowChange(TABLE, ("hostile-" + _no_surrogates(gen.string()),), None))
        note(shown([c.record or c.key for c in changes]))
        writer.write(changes)  # one transaction; before the fix a NUL failed it, and with it the mirror

    try:
        one_batch()
    finally:
        writer.close()
    rows = table_rows(mirror_dsn, TABLE.table)
    counted = Counter(row["certificate_number"] for row in rows)
    assert all(counted[key] == 1 for key in valid), "a valid row is missing or there twice"
    stored = keyed_rows([row for row in rows if row["certificate_number"] in valid], ITEM.key_fields)
    assert stored == as_rows(valid, {"encumbrances"})
    assert not any("\x00" in value for row in rows for value in row.values() if isinstance(value, str))


def test_the_mirror_keeps_going_past_events_with_a_nul(canonical: Callable[..., CanonicalWriter],
                                                       mirror: Callable[..., MirrorProcess], mirror_dsn: str) -> None:
    item = load_catalogue().get("credit_record")
    writer = canonical(item.name, partitions=1)
    records = [item.validate(s.record) for s in records_for(item, 6, seed=72)]
    poisoned = [{**records[0], "subject_name": "王\x00芳"}, {**records[1], "content": "罚款\x00\x1b[2J"}]
    steps = [Step("UPSERT", item.key_of(r), r) for r in [*poisoned, *records[2:]]]
    writer.write(steps)
    process = mirror(GOVBUS_MIRROR_ITEM=item.name, GOVBUS_MIRROR_DSN=mirror_dsn, GOVBUS_MIRROR_TABLE="credits")
    expected = {step.key: {k: (v.replace("\x00", REPLACEMENT) if isinstance(v, str) else v)
                           for k, v in (step.record or {}).items()} for step in steps}

    def converged() -> bool:
        return keyed_rows(table_rows(mirror_dsn, "credits"), item.key_fields) == expected

    wait_for(converged, 60, "every record, a NUL stored as U+FFFD", process)
    later = records_for(item, 8, seed=73)[-1].record
    writer.write([Step("UPSERT", item.key_of(item.validate(later)), item.validate(later))])
    wait_for(lambda: len(table_rows(mirror_dsn, "credits")) == len(steps) + 1, 30, "the next event too", process)
    assert process.alive() and process.metric("govbus_mirror_errors_total") == 0
