"""Every parser of streams.dialects.parsers: the value it returns and the fixes it records."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from govbus.exceptions import ValidationError
from streams.dialects import codes
from streams.dialects import parsers as p
from streams.dialects.model import Fix, FixKind
from streams.dialects.parsers import BEIJING, FixLog


def run(converter: p.Converter, value: Any, field: str = "f") -> tuple[Any, list[tuple[FixKind, Any, Any]]]:
    log = FixLog()
    result = converter(value, field, log)
    assert all(fix.field == field for fix in log.fixes)
    return result, [(fix.kind, fix.before, fix.after) for fix in log.fixes]


@pytest.mark.parametrize(("raw", "expected"), [
    ("2017-05-18", dt.date(2017, 5, 18)),
    ("2017/5/18", dt.date(2017, 5, 18)),
    ("2017/05/18", dt.date(2017, 5, 18)),
    ("2017-5-8", dt.date(2017, 5, 8)),
    ("20170518", dt.date(2017, 5, 18)),
    ("2017年5月18日", dt.date(2017, 5, 18)),
    ("2017 年 5 月 18 日", dt.date(2017, 5, 18)),
    ("2017.05.18", dt.date(2017, 5, 18)),
    ("２０１７年５月１８日", dt.date(2017, 5, 18)),
    (" 2017/5/18 ", dt.date(2017, 5, 18)),
])
def test_every_date_format_parses(raw: str, expected: dt.date) -> None:
    result, fixes = run(p.date, raw, "established_on")
    assert result == expected
    if raw == "2017-05-18":
        assert fixes == []
    else:
        assert fixes == [(FixKind.DATE_FORMAT, raw, expected.isoformat())]


def test_date_objects_and_null_pass_unchanged() -> None:
    assert run(p.date, dt.date(2020, 1, 2)) == (dt.date(2020, 1, 2), [])
    assert run(p.date, None) == (None, [])


def test_blank_date_becomes_null() -> None:
    assert run(p.date, "  ") == (None, [(FixKind.EMPTY_TO_NULL, "  ", None)])


@pytest.mark.parametrize("raw", ["2017年2月30日", "2017/2/30", "20170230", "2017-13-01", "2019.02.29"])
def test_impossible_dates_are_date_invalid(raw: str) -> None:
    with pytest.raises(ValidationError) as caught:
        run(p.date, raw, "established_on")
    assert (caught.value.field, caught.value.rule) == ("established_on", "date.invalid")


@pytest.mark.parametrize("raw", ["18/05/2017", "May 18 2017", "2017518", "2017-05", "昨天"])
def test_unknown_date_formats_are_date_format(raw: str) -> None:
    with pytest.raises(ValidationError) as caught:
        run(p.date, raw, "clrq")
    assert (caught.value.field, caught.value.rule) == ("clrq", "date.format")


def test_leap_day_is_a_date() -> None:
    assert run(p.date, "20200229")[0] == dt.date(2020, 2, 29)


@pytest.mark.parametrize(("raw", "kinds"), [
    ("2024-03-05T14:22:10+08:00", []),
    ("2024-03-05T06:22:10Z", [FixKind.TIMESTAMP_FORMAT]),
    ("2024-03-05 14:22:10", [FixKind.TIMEZONE_ASSUMED]),
    ("2024/3/5 14:22:10", [FixKind.TIMESTAMP_FORMAT, FixKind.TIMEZONE_ASSUMED]),
    ("20240305142210", [FixKind.TIMESTAMP_FORMAT, FixKind.TIMEZONE_ASSUMED]),
    ("2024年3月5日 14:22:10", [FixKind.TIMESTAMP_FORMAT, FixKind.TIMEZONE_ASSUMED]),
])
def test_timestamps_are_beijing_time_unless_they_say_otherwise(raw: str, kinds: list[FixKind]) -> None:
    result, fixes = run(p.timestamp, raw, "verified_at")
    assert result == dt.datetime(2024, 3, 5, 14, 22, 10, tzinfo=BEIJING)
    assert [kind for kind, _, _ in fixes] == kinds
    if kinds:
        assert fixes[-1][2] in ("2024-03-05T14:22:10+08:00", "2024-03-05T06:22:10+00:00")


@pytest.mark.parametrize(("raw", "rule"), [("20240230142210", "timestamp.invalid"),
                                         ("14:22 5/3/2024", "timestamp.format")])
def test_bad_timestamps_are_refused(raw: str, rule: str) -> None:
    with pytest.raises(ValidationError) as caught:
        run(p.timestamp, raw, "paid_at")
    assert (caught.value.field, caught.value.rule) == ("paid_at", rule)


@pytest.mark.parametrize(("raw", "expected", "kinds"), [
    ("91330106MA2H8L9A1Q", "91330106MA2H8L9A1Q", []),
    ("９１３３０１０６ＭＡ２Ｈ８Ｌ９Ａ１Ｑ", "91330106MA2H8L9A1Q", [FixKind.FULL_WIDTH]),
    ("9133 0106 MA2H 8L9A 1Q", "91330106MA2H8L9A1Q", [FixKind.WHITESPACE]),
    ("91330106ma2h8l9a1q", "91330106MA2H8L9A1Q", [FixKind.CASE]),
    ("９１３３ ０１０６ ｍａ２ｈ ８ｌ９ａ １ｑ", "91330106MA2H8L9A1Q",
     [FixKind.FULL_WIDTH, FixKind.WHITESPACE, FixKind.CASE]),
    ("９１３３\u3000０１０６", "91330106", [FixKind.FULL_WIDTH, FixKind.WHITESPACE]),
])
def test_codes_are_half_width_without_spaces_in_upper_case(raw: str, expected: str, kinds: list[FixKind]) -> None:
    result, fixes = run(p.code, raw, "uscc")
    assert result == expected
    assert [kind for kind, _, _ in fixes] == kinds
    assert fixes == [] or fixes[-1][2] == expected


def test_code_steps_record_each_intermediate_value() -> None:
    _, fixes = run(p.code, "９１ａ")
    assert fixes == [(FixKind.FULL_WIDTH, "９１ａ", "91a"), (FixKind.CASE, "91a", "91A")]


def test_blank_code_becomes_null() -> None:
    assert run(p.code, " \u3000") == (None, [(FixKind.FULL_WIDTH, " \u3000", "  "), (FixKind.WHITESPACE, "  ", ""),
                                            (FixKind.EMPTY_TO_NULL, " \u3000", None)])


def test_legacy_15_digit_identity_number_is_upgraded() -> None:
    result, fixes = run(p.resident_id, "110105491231002", "resident_id")
    assert result == "11010519491231002X"
    assert fixes == [(FixKind.LEGACY_ID_UPGRADED, "110105491231002", "11010519491231002X")]


def test_full_width_legacy_identity_number_is_cleaned_then_upgraded() -> None:
    result, fixes = run(p.resident_id, "１１０１０５ ４９１２３１００２", "resident_id")
    assert result == "11010519491231002X"
    assert [kind for kind, _, _ in fixes] == [FixKind.FULL_WIDTH, FixKind.WHITESPACE, FixKind.LEGACY_ID_UPGRADED]


def test_lower_case_check_x_is_upper_cased_and_18_digits_are_not_upgraded() -> None:
    assert run(p.resident_id, "11010519491231002x") == ("11010519491231002X",
                                                        [(FixKind.CASE, "11010519491231002x", "11010519491231002X")])


@pytest.mark.parametrize(("raw", "expected", "kinds"), [
    ("王伟", "王伟", []),
    ("王\u3000伟", "王伟", [FixKind.FULL_WIDTH, FixKind.WHITESPACE]),
    ("王  伟", "王伟", [FixKind.WHITESPACE]),
    ("  华信科技有限公司 ", "华信科技有限公司", [FixKind.WHITESPACE]),
    ("某路１２３号", "某路123号", [FixKind.FULL_WIDTH]),
    ("Huaxin  Technology Co.", "Huaxin Technology Co.", [FixKind.WHITESPACE]),
    ("华为技术（深圳）有限公司", "华为技术（深圳）有限公司", []),
])
def test_text_is_tidied_but_chinese_punctuation_kept(raw: str, expected: str, kinds: list[FixKind]) -> None:
    result, fixes = run(p.text, raw, "name")
    assert result == expected
    assert [kind for kind, _, _ in fixes] == kinds


def test_empty_text_becomes_null() -> None:
    assert run(p.text, "") == (None, [(FixKind.EMPTY_TO_NULL, "", None)])
    assert run(p.text, None) == (None, [])


@pytest.mark.parametrize(("raw", "cents"), [
    ("12,345.60", 1234560), ("12345.6", 1234560), ("¥12,345.60元", 1234560), ("￥ 12，345.60", 1234560),
    ("0", 0), ("1,000,000", 100000000), ("１２.３４", 1234),
])
def test_yuan_become_fen(raw: str, cents: int) -> None:
    result, fixes = run(p.yuan, raw, "amount_cents")
    assert result == cents
    assert fixes == [(FixKind.AMOUNT_UNIT, raw, str(cents))]


@pytest.mark.parametrize(("raw", "cents"), [("500", 500_000_000), ("50.5", 50_500_000), ("0.000001", 1),
                                            ("83,073.716万元", 83_073_716_000), ("12万", 12_000_000)])
def test_ten_thousand_yuan_become_fen(raw: str, cents: int) -> None:
    assert run(p.wan_yuan, raw)[0] == cents


@pytest.mark.parametrize(("converter", "raw", "rule"), [
    (p.yuan, "12.345", "amount.precision"), (p.yuan, "twelve", "amount.format"), (p.yuan, "12万元", "amount.format"),
    (p.yuan, "NaN", "amount.format"), (p.wan_yuan, "0.0000001", "amount.precision"),
    (p.square_metres, "12.345", "area.precision"), (p.square_metres, "12亩", "area.format"),
])
def test_bad_amounts_and_areas_are_refused(converter: p.Converter, raw: str, rule: str) -> None:
    with pytest.raises(ValidationError) as caught:
        run(converter, raw, "x")
    assert (caught.value.field, caught.value.rule) == ("x", rule)


@pytest.mark.parametrize(("raw", "dm2"), [("120.50", 12050), ("120.5平方米", 12050), ("89.75㎡", 8975),
                                        ("1,200", 120000)])
def test_square_metres_become_square_decimetres(raw: str, dm2: int) -> None:
    assert run(p.square_metres, raw) == (dm2, [(FixKind.AREA_UNIT, raw, str(dm2))])


def test_blank_amount_becomes_null() -> None:
    assert run(p.yuan, "") == (None, [(FixKind.EMPTY_TO_NULL, "", None)])


def test_codes_are_mapped_and_unknown_ones_refused() -> None:
    gender = p.mapped(codes.GENDER_CODES, "sex code")
    assert run(gender, "1", "gender") == ("MALE", [(FixKind.CODE_MAPPED, "1", "MALE")])
    assert run(gender, "２", "gender") == ("FEMALE", [(FixKind.CODE_MAPPED, "２", "FEMALE")])
    with pytest.raises(ValidationError) as caught:
        run(gender, "9", "gender")
    assert (caught.value.field, caught.value.rule) == ("gender", "code.unknown")
    assert "1, 2" in caught.value.detail


def test_a_code_may_map_to_null() -> None:
    assert run(p.mapped(codes.LONG_TERM, "validity"), "长期") == (None, [(FixKind.CODE_MAPPED, "长期", None)])


def test_ethnicity_tables_cover_all_56_groups() -> None:
    assert len(codes.ETHNICITY_CODES) == 56
    assert codes.ETHNICITY_CODES["01"] == "汉" and codes.ETHNICITY_CODES["56"] == "基诺"
    assert codes.ETHNICITY_LABELS["维吾尔族"] == "维吾尔"


@pytest.mark.parametrize(("number", "problem"), [
    ("110105000000012", None), ("330106000123452", "check digit"), ("11010500000001", "15 digits"),
])
def test_registration_number_check_digit_is_iso_7064_mod_11_10(number: str, problem: str | None) -> None:
    found = p.registration_number_problem(number)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_iso_7064_mod_11_10_reference_values() -> None:
    assert p.registration_number_check_digit("0794") == 5  # the standard's worked example
    assert p.registration_number_check_digit("1234567890") == 3


def test_fix_json_round_trip() -> None:
    fix = Fix("uscc", FixKind.FULL_WIDTH, "９１", "91")
    assert Fix.from_json(fix.to_json()) == fix
