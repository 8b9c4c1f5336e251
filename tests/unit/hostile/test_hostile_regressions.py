"""The hostile inputs issue #11 found, one test each: an integer beyond Avro's long, JSON nested too deeply, a
NUL in a text field, digits of other scripts in identifiers and codes, and what the fuzzing turned up since."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostile_offline import CATALOGUE, ITEMS, publisher_of, valid_records

from connectors.file_source import Rejection, read_records
from connectors.ingest_gateway.batch import BadBody, parse_body
from connectors.pg_mirror.columns import BIGINT, JSONB, REPLACEMENT, TEXT, adapt, dumps
from govbus.exceptions import ValidationError
from govbus.identifiers import ascii_digits, check_division_code, check_resident_id, upgrade_legacy_id
from schemas.registry.canonical import parse_schema
from schemas.registry.compatibility import CompatibilityLevel
from schemas.registry.errors import InvalidCompatibilityLevel, InvalidMode, InvalidSchema
from schemas.registry.modes import Mode
from streams.dialects import get_dialect
from streams.dialects.parsers import FixLog, parse_date_text, yuan
from testsupport.hostile import nested


def _scalar_fields(item: str, kinds: tuple[str, ...]) -> list[str]:
    """Top-level fields of ``item`` whose Avro type (nullable or not) is one of ``kinds``, no logical type."""
    fields = []
    for field in CATALOGUE.get(item).record_schema["fields"]:
        kind = field["type"]
        kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
        if kind in kinds:
            fields.append(field["name"])
    return fields


@pytest.mark.parametrize("item", ITEMS)
def test_a_number_beyond_its_avro_type_is_refused_naming_the_field_before_anything_is_sent(item: str) -> None:
    record = valid_records(item)[0]
    for field in _scalar_fields(item, ("int", "long")):
        for number in (2**63, -(2**63) - 1, 10**30):
            with pytest.raises(ValidationError) as refused:
                publisher_of(item).prepare(item, {**record, field: number})
            assert refused.value.field == field, (field, refused.value)
            assert refused.value.rule in ("number.range", "greater_than_equal", "less_than_equal")
    for field in _scalar_fields(item, ("int",)):
        with pytest.raises(ValidationError) as refused:
            publisher_of(item).prepare(item, {**record, field: 2**31})
        assert refused.value.field == field


@pytest.mark.parametrize("item", ITEMS)
def test_a_control_character_in_any_text_field_is_refused_with_its_rule(item: str) -> None:
    record = valid_records(item)[0]
    identifiers = set(CATALOGUE.get(item).identifier_fields)
    for field in _scalar_fields(item, ("string",)):
        if not isinstance(record.get(field), str):
            continue
        rules = set()
        for bad in ("\x00", "\x1b", "\x7f", "\x9f"):
            with pytest.raises(ValidationError) as refused:
                publisher_of(item).prepare(item, {**record, field: record[field][:1] + bad + record[field][1:]})
            assert refused.value.field == field
            rules.add(refused.value.rule)
            if refused.value.rule == "text.control_character":
                assert "U+00" in refused.value.detail and record[field] not in refused.value.detail
        if field not in identifiers and rules == {"text.control_character"}:  # a text: tabs and line breaks go
            publisher_of(item).prepare(item, {**record, field: record[field] + "\tline\r\nbreak"})
        else:  # an identifier or a code refuses them by its format
            assert field in identifiers or rules == {"string_pattern_mismatch"}, (field, rules)


def test_identifiers_and_codes_take_ascii_digits_only() -> None:
    assert check_division_code("٣٣٠١٠٠") and check_division_code("३३०१००") and not check_division_code("330100")
    assert check_resident_id("١١٠١٠٥١٩٤٩١٢٣١٠٠٢٣") is not None
    assert check_resident_id("²" * 17 + "X") is not None  # str.isdigit takes '²', int() does not
    with pytest.raises(ValueError, match="15 digits"):
        upgrade_legacy_id("１" * 15)
    assert not ascii_digits("٣") and not ascii_digits("") and ascii_digits("0123456789")
    record = valid_records("enterprise_registration")[0]
    for field, value in (("division_code", "٣٣٠١٠٠"), ("uscc", record["uscc"][:2] + "٣٣٠١٠٠" + record["uscc"][8:])):
        with pytest.raises(ValidationError) as refused:
            CATALOGUE.get("enterprise_registration").validate({**record, field: value})
        assert refused.value.field == field
    degree = valid_records("degree_certification")[0]
    with pytest.raises(ValidationError, match="institution_code"):
        CATALOGUE.get("degree_certification").validate({**degree, "institution_code": "١٠٠٠١"})
    with pytest.raises(ValidationError) as refused:
        parse_date_text("٢٠١٧-٠٥-١٨", "established_on")
    assert refused.value.rule == "date.format"
    assert parse_date_text("２０１７年５月１８日", "established_on").isoformat() == "2017-05-18"  # full width: fixed


def test_an_amount_too_large_to_scale_is_refused_before_it_is_turned_into_an_int() -> None:
    for amount in ("1e999999", "9" * 25, "1e9999999999"):
        with pytest.raises(ValidationError) as refused:
            yuan(amount, "price_cents", FixLog())
        assert refused.value.rule == "amount.range"


def test_deep_json_is_a_bad_body_or_a_rejected_line_not_a_crash(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(BadBody, match="nested too deeply"):
        parse_body(deep.encode(), "application/json")
    [entry] = parse_body(deep.encode(), "application/x-ndjson")
    assert entry.rejection is not None and entry.rejection.rule == "json"
    record = valid_records("enterprise_registration")[0]
    with pytest.raises(ValidationError) as refused:  # nested values that reach validation
        publisher_of("enterprise_registration").prepare("enterprise_registration", {**record, "name": nested(5000)})
    assert refused.value.field in ("name", "record")


def test_json_lines_end_at_line_feeds_only() -> None:
    record = {**valid_records("enterprise_registration")[0], "business_scope": "一\u2028二\u2029三\x85四"}
    body = json.dumps(record, ensure_ascii=False).encode() + b"\r\n" + json.dumps(record).encode()
    parsed = parse_body(body, "application/x-ndjson")  # str.splitlines() cut the first record in four
    assert [entry.record for entry in parsed] == [record, record]


def test_a_bad_line_of_a_file_is_rejected_alone(tmp_path: Path) -> None:
    record = valid_records("enterprise_registration")[0]
    good = json.dumps(record, ensure_ascii=False).encode()
    path = tmp_path / "records.jsonl"
    path.write_bytes(b"\n".join([good, b'{"name": "\xff\xfe"}', b"[" * 50_000, good]))
    lines = list(read_records(path, "jsonl"))
    assert [(n, r.rule if isinstance(r, Rejection) else "record") for n, r in lines] == [
        (1, "record"), (2, "utf8"), (3, "json"), (4, "record")]
    csv_path = tmp_path / "records.csv"
    header = ",".join(record).encode()
    row = ",".join(str(v) for v in record.values()).encode()
    csv_path.write_bytes(b"\n".join([header, row, b"x" * 200_000, row.replace(b"1", b"\xff", 1), row, b""]))
    rows = [(n, r.rule if isinstance(r, Rejection) else "record") for n, r in read_records(csv_path, "csv")]
    assert rows == [(2, "record"), (3, "csv"), (4, "utf8"), (5, "record")]


def test_a_delete_key_with_a_control_character_or_the_wrong_parts_is_refused() -> None:
    publisher = publisher_of("government_procurement_award")
    for key, rule in (("", "required"), ("P-1", "key.parts"), ("P\x00-1|3", "text.control_character")):
        with pytest.raises(ValidationError) as refused:
            publisher.delete("government_procurement_award", key)
        assert refused.value.rule == rule
    dialect = get_dialect("government_procurement_award", "canonical")
    with pytest.raises(ValidationError, match="part"):
        dialect.canonical_key("P-1")
    with pytest.raises(ValidationError) as refused:
        get_dialect("credit_record", "canonical").canonical_key("D-1\x00")
    assert refused.value.rule == "text.control_character"


def test_the_mirror_stores_nul_and_non_finite_numbers_instead_of_stopping() -> None:
    assert adapt("王\x00芳", TEXT) == f"王{REPLACEMENT}芳"
    assert adapt("\x00", BIGINT) == REPLACEMENT
    document = dumps({"a\x00": ["x\x00", float("nan"), float("inf"), b"\x00"], "n": "NaN"})
    assert json.loads(document) == {f"a{REPLACEMENT}": [f"x{REPLACEMENT}", "NaN", "Infinity", REPLACEMENT],
                                    "n": "NaN"}
    assert adapt({"k": "v"}, JSONB).obj == {"k": "v"}
    assert dumps({"plain": "\\u0000 as text"}) == '{"plain": "\\\\u0000 as text"}'


def test_the_registry_answers_hostile_values_with_client_errors() -> None:
    for parse, error in ((Mode.parse, InvalidMode), (CompatibilityLevel.parse, InvalidCompatibilityLevel)):
        with pytest.raises(error) as refused:
            parse(nested(5000))
        assert len(refused.value.message) < 300
    with pytest.raises(InvalidSchema, match="surrogate"):
        parse_schema('{"type": "record", "name": "R", "doc": "\\ud800", "fields": []}')
