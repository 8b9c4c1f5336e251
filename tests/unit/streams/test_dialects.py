"""Every dialect: a hand-written record of each, generated round trips against their expected
canonical records and fixes, every bad kind rejected with the right field and rule."""

from __future__ import annotations

import datetime as dt
from typing import Any

import fastavro
import pytest

from govbus.demo.dialect_samples import BadKind, samples
from govbus.exceptions import ConfigurationError, ValidationError
from govbus.identifiers import id_check_character, uscc_check_character
from govbus.topic_names import local_topic
from streams.dialects import ITEMS, FixKind, dialects_for, fixes_from_header, fixes_header, get_dialect, local_dialects
from streams.dialects.parsers import BEIJING

LOCAL_DIALECTS = [(item, d.name) for item in ITEMS for d in local_dialects(item)]
ALL_DIALECTS = [(item, d.name) for item in ITEMS for d in dialects_for(item)]

USCC = "91330106MA2H8L9A1" + uscc_check_character("91330106MA2H8L9A1")
PERSON = "33010619850312202" + id_check_character("33010619850312202")  # born 1985-03-12, female
LEGACY_PERSON = PERSON[:6] + PERSON[8:17]


def kinds_of(fixes: Any) -> set[tuple[str, FixKind]]:
    return {(fix.field, fix.kind) for fix in fixes}


def test_at_least_four_items_with_two_local_dialects_each() -> None:
    assert len(ITEMS) >= 4
    assert all(len(local_dialects(item)) == 2 for item in ITEMS)
    assert all(dialects_for(item)[0].name == "canonical" for item in ITEMS)


@pytest.mark.parametrize(("item", "name"), ALL_DIALECTS)
def test_schemas_parse_and_topics_follow_the_convention(item: str, name: str) -> None:
    dialect = get_dialect(item, name)
    fastavro.parse_schema(dialect.event_schema())
    if name == "canonical":
        assert dialect.topic("govbus.t") == dialect.item.topics("govbus.t").department
    else:
        assert dialect.topic("govbus.t") == local_topic(dialect.department, item, name, "govbus.t")
        assert dialect.schema["namespace"] == "gov.govbus.local." + name.replace("-", "_")


def test_unknown_dialect_names_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match="zhejiang-aic-v2"):
        get_dialect("enterprise_registration", "zhejiang-aic-v3")


def test_local_topic_name() -> None:
    assert (local_topic("market-regulation", "enterprise_registration", "zhejiang-aic-v2", "govbus.t-1")
            == "govbus.t-1.local.market-regulation.enterprise-registration.zhejiang-aic-v2")
    with pytest.raises(ConfigurationError):
        local_topic("market-regulation", "enterprise_registration", "Zhejiang_AIC")


# -- hand-written records ------------------------------------------------------------------

ENTERPRISE = {
    "uscc": USCC, "name": "华信科技有限公司", "legal_representative": "王伟", "division_code": "330106",
    "registered_capital_cents": 500_500_000, "established_on": dt.date(2017, 5, 18), "status": "CHANGED",
    "address": "杭州市西湖区文三路123号", "enterprise_type": "LIMITED_LIABILITY_COMPANY",
    "registration_authority": "杭州市西湖区市场监督管理局", "business_scope": "技术开发、技术咨询",
    "status_changed_on": dt.date(2019, 3, 1),
}


def test_zhejiang_aic_v2_record() -> None:
    raw = {"tyshxydm": "９１３３０１０６ｍａ２ｈ８ｌ９ａ１" + USCC[17].lower(), "zch": "330106000123458",
           "qymc": "华信科技有限公司", "fddbr": "王\u3000伟", "djjgxzqh": "330106", "zczb": "500.5",
           "clrq": "2017年5月18日", "djzt": "变更", "zs": "杭州市西湖区文三路１２３号 ", "qylx": "有限责任公司",
           "djjg": "杭州市西湖区市场监督管理局", "jyfw": "技术开发、技术咨询", "hzrq": "2019年3月1日"}
    normalised = get_dialect("enterprise_registration", "zhejiang-aic-v2").normalise(raw)
    assert normalised.record == ENTERPRISE
    fixes = kinds_of(normalised.fixes) - {(f, FixKind.RENAMED) for f in ENTERPRISE}
    assert fixes == {
        ("uscc", FixKind.FULL_WIDTH), ("uscc", FixKind.CASE), ("uscc", FixKind.LEGACY_REGISTRATION_NUMBER),
        ("legal_representative", FixKind.FULL_WIDTH), ("legal_representative", FixKind.WHITESPACE),
        ("registered_capital_cents", FixKind.AMOUNT_UNIT), ("established_on", FixKind.DATE_FORMAT),
        ("status", FixKind.CODE_MAPPED), ("address", FixKind.FULL_WIDTH), ("address", FixKind.WHITESPACE),
        ("enterprise_type", FixKind.CODE_MAPPED), ("status_changed_on", FixKind.DATE_FORMAT),
    }
    renamed = [f for f in normalised.fixes if f.kind is FixKind.RENAMED]
    assert {(f.before, f.after) for f in renamed} >= {("tyshxydm", "uscc"), ("qymc", "name"),
                                                      ("clrq", "established_on")}
    amount = next(f for f in normalised.fixes if f.kind is FixKind.AMOUNT_UNIT)
    assert (amount.before, amount.after) == ("500.5", "500500000")


def test_guangdong_scjg_v1_record() -> None:
    raw = {"SHXYDM": USCC[:4] + " " + USCC[4:], "ZCH": None, "QYMC": "华信科技有限公司", "FRDB": "王伟",
           "XZQHDM": "３３０１０６", "ZCZB": "5,005,000.00", "CLRQ": "20170518", "DJZTDM": "2",
           "ZS": "杭州市西湖区文三路123号", "QYLXDM": "1100", "DJJG": "杭州市西湖区市场监督管理局",
           "JYFW": "技术开发、技术咨询", "BGRQ": "2019/3/1"}
    normalised = get_dialect("enterprise_registration", "guangdong-scjg-v1").normalise(raw)
    assert normalised.record == ENTERPRISE
    assert ("division_code", FixKind.FULL_WIDTH) in kinds_of(normalised.fixes)
    assert ("uscc", FixKind.WHITESPACE) in kinds_of(normalised.fixes)


def test_enterprise_with_only_a_registration_number_is_refused_naming_uscc() -> None:
    raw = {"QYMC": "华信科技有限公司", "ZCH": "330106000123458"}
    with pytest.raises(ValidationError) as caught:
        get_dialect("enterprise_registration", "guangdong-scjg-v1").normalise(raw)
    assert (caught.value.field, caught.value.rule) == ("uscc", "uscc.legacy_only")
    assert "a valid registration number" in caught.value.detail


IDENTITY = {
    "resident_id": PERSON, "name": "陈静", "gender": "FEMALE", "ethnicity": "回", "birth_date": dt.date(1985, 3, 12),
    "household_address": "杭州市西湖区某路1号", "division_code": "330106", "issuing_authority": "杭州市公安局西湖分局",
    "valid_from": dt.date(2015, 3, 1), "valid_until": None, "card_status": "VALID",
    "verified_at": dt.datetime(2024, 3, 5, 6, 22, 10, tzinfo=dt.UTC),
}


def test_hubei_rkk_v1_record_with_a_legacy_number_and_a_long_term_card() -> None:
    raw = {"gmsfhm": LEGACY_PERSON, "xm": "陈 静", "xb": "2", "mz": "03", "csrq": "19850312",
           "hjdz": "杭州市西湖区某路1号", "hjdxzqh": "330106", "qfjg": "杭州市公安局西湖分局", "yxqqsrq": "20150301",
           "yxqjzrq": "长期", "zjzt": "1", "hcsj": "2024-03-05 14:22:10"}
    normalised = get_dialect("identity_verification", "hubei-rkk-v1").normalise(raw)
    assert normalised.record == IDENTITY
    assert normalised.record["verified_at"].utcoffset() == dt.timedelta(hours=8)
    fixes = {(f.field, f.kind): f for f in normalised.fixes}
    assert fixes["resident_id", FixKind.LEGACY_ID_UPGRADED].after == PERSON
    assert (fixes["valid_until", FixKind.CODE_MAPPED].before, fixes["valid_until", FixKind.CODE_MAPPED].after) == (
        "长期", None)
    assert fixes["ethnicity", FixKind.CODE_MAPPED].after == "回"
    assert ("verified_at", FixKind.TIMEZONE_ASSUMED) in fixes


def test_sichuan_gaj_v3_record_splits_the_printed_validity_period() -> None:
    raw = {"SFZH": PERSON[:17] + PERSON[17].lower(), "XM": "陈静", "XBMC": "女", "MZMC": "回族",
           "CSRQ": "1985年3月12日", "ZZ": "杭州市西湖区某路1号", "SSXQ": "330106", "QFJG": "杭州市公安局西湖分局",
           "YXQX": "2015.03.01-2035.03.01", "ZJZT": "正常", "HCSJ": "20240305142210"}
    normalised = get_dialect("identity_verification", "sichuan-gaj-v3").normalise(raw)
    assert normalised.record == {**IDENTITY, "valid_until": dt.date(2035, 3, 1)}
    split = [(f.field, f.before, f.after) for f in normalised.fixes if f.kind is FixKind.SPLIT]
    assert split == [("valid_from", "2015.03.01-2035.03.01", "2015.03.01"),
                     ("valid_until", "2015.03.01-2035.03.01", "2035.03.01")]


def test_sichuan_validity_period_in_another_shape_is_refused() -> None:
    raw = {"YXQX": "2015-03-01 to 2035-03-01"}
    with pytest.raises(ValidationError) as caught:
        get_dialect("identity_verification", "sichuan-gaj-v3").normalise(raw)
    assert (caught.value.field, caught.value.rule) == ("valid_from", "validity_period.format")


def test_gender_disagreeing_with_the_identity_number_is_refused() -> None:
    raw = {"SFZH": PERSON, "XM": "陈静", "XBMC": "男", "MZMC": "回族", "CSRQ": "1985年3月12日", "ZZ": "某路1号",
           "SSXQ": "330106", "QFJG": "某分局", "YXQX": "2015.03.01-长期", "ZJZT": "正常", "HCSJ": "20240305142210"}
    with pytest.raises(ValidationError) as caught:
        get_dialect("identity_verification", "sichuan-gaj-v3").normalise(raw)
    assert (caught.value.field, caught.value.rule) == ("gender", "resident_id.gender_mismatch")


TAX = {
    "certificate_number": "337016240300012345", "taxpayer_kind": "INDIVIDUAL", "taxpayer_name": "陈静",
    "taxpayer_uscc": None, "taxpayer_resident_id": PERSON, "tax_authority": "国家税务总局杭州市西湖区税务局",
    "tax_authority_division_code": "330106", "tax_type": "DEED_TAX", "period_start": dt.date(2024, 2, 1),
    "period_end": dt.date(2024, 2, 29), "amount_cents": 1_234_560,
    "paid_at": dt.datetime(2024, 3, 5, 14, 22, 10, tzinfo=BEIJING), "issued_on": dt.date(2024, 3, 6),
}


def test_shandong_jin3_v1_routes_the_taxpayer_number_by_kind() -> None:
    raw = {"wszmhm": "3370 1624 0300 0123 45", "nsrlx": "2", "nsrmc": "陈静", "nsrsbh": LEGACY_PERSON,
           "swjgmc": "国家税务总局杭州市西湖区税务局", "swjgxzqh": "330106", "zsxmdm": "10119", "skssqq": "2024/2/1",
           "skssqz": "2024/2/29", "sjje": "12,345.60", "rksj": "2024/3/5 14:22:10", "kjrq": "2024/3/6"}
    normalised = get_dialect("tax_payment_certificate", "shandong-jin3-v1").normalise(raw)
    assert normalised.record == TAX
    routed = [(f.before, f.after) for f in normalised.fixes if f.kind is FixKind.RENAMED and f.field.startswith("tax")]
    assert ("nsrsbh", "taxpayer_resident_id") in routed
    assert ("taxpayer_resident_id", FixKind.LEGACY_ID_UPGRADED) in kinds_of(normalised.fixes)


def test_jiangsu_etax_v2_derives_the_division_from_the_authority_code() -> None:
    raw = {"pzxh": "337016240300012345", "nsrlb": "个人", "nsrmc": "陈静", "tyshxydm": None, "sfzjhm": PERSON,
           "zgswjg": "国家税务总局杭州市西湖区税务局", "zgswjgdm": "13301060000", "zsxmmc": "契税",
           "ssqq": "2024年2月1日", "ssqz": "2024年2月29日", "je": "¥12,345.60元", "rkrq": "20240305142210",
           "tprq": "20240306"}
    normalised = get_dialect("tax_payment_certificate", "jiangsu-etax-v2").normalise(raw)
    assert normalised.record == TAX
    derived = next(f for f in normalised.fixes if f.kind is FixKind.DERIVED)
    assert (derived.field, derived.before, derived.after) == ("tax_authority_division_code", "13301060000", "330106")


def test_jiangsu_bad_authority_code_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        get_dialect("tax_payment_certificate", "jiangsu-etax-v2").normalise({"zgswjgdm": "2330106"})
    assert (caught.value.field, caught.value.rule) == ("tax_authority_division_code", "tax_authority_code.format")


def test_tax_period_in_the_wrong_order_is_refused() -> None:
    raw = {"wszmhm": "1", "nsrlx": "2", "nsrmc": "陈静", "nsrsbh": PERSON, "swjgmc": "某局", "swjgxzqh": "330106",
           "zsxmdm": "10119", "skssqq": "2024/3/1", "skssqz": "2024/2/29", "sjje": "1", "rksj": "2024/3/5 14:22:10",
           "kjrq": "2024/3/6"}
    with pytest.raises(ValidationError) as caught:
        get_dialect("tax_payment_certificate", "shandong-jin3-v1").normalise(raw)
    assert (caught.value.field, caught.value.rule) == ("period_end", "date.order")


UNIT = "330106004003GB00012F00010001"
ESTATE = {
    "certificate_number": "浙(2017)杭州市不动产权第0012345号", "unit_number": UNIT, "division_code": "330106",
    "location": "西湖区文三路1号1幢101室", "right_type": "STATE_LAND_USE_AND_HOUSE_OWNERSHIP",
    "right_nature": "GRANTED",
    "usage": "城镇住宅用地/住宅", "land_area_dm2": 12050, "floor_area_dm2": 8975, "owner_kind": "NATURAL_PERSON",
    "owner_name": "陈静", "owner_resident_id": PERSON, "owner_uscc": None, "co_ownership": "SOLE",
    "land_use_ends_on": dt.date(2087, 6, 30), "registered_on": dt.date(2017, 5, 18),
    "encumbrances": [
        {"kind": "MORTGAGE", "holder": "中国建设银行", "registered_on": dt.date(2018, 3, 1),
         "secured_amount_cents": 120_050_000, "ends_on": dt.date(2038, 3, 1)},
        {"kind": "SEIZURE", "holder": "西湖区人民法院", "registered_on": dt.date(2019, 1, 1),
         "secured_amount_cents": None, "ends_on": None},
    ],
    "status": "VALID",
}


def test_guangdong_bdc_v1_record() -> None:
    raw = {"bdcqzh": "浙(2017)杭州市不动产权第0012345号", "bdcdyh": "330106 004003 gb00012 f00010001",
           "zl": "西湖区文三路1号1幢101室", "qllx": "4", "qlxz": "102", "yt": "城镇住宅用地/住宅", "zdmj": "120.50",
           "jzmj": "89.75", "qlrlx": "1", "qlr": "陈静", "zjh": PERSON, "gyfs": "0", "tdsyjsrq": "2087/6/30",
           "dbsj": "2017/5/18", "qszt": "1",
           "dyxx": [{"qllx": "抵押", "qlr": "中国建设银行", "djrq": "2018/3/1", "bdbzzqse": "120.05",
                     "jsrq": "2038/3/1"},
                    {"qllx": "查封", "qlr": "西湖区人民法院", "djrq": "2019/1/1", "bdbzzqse": None, "jsrq": None}]}
    normalised = get_dialect("real_estate_registration", "guangdong-bdc-v1").normalise(raw)
    assert normalised.record == ESTATE
    fixes = kinds_of(normalised.fixes)
    assert {("division_code", FixKind.DERIVED), ("unit_number", FixKind.WHITESPACE), ("unit_number", FixKind.CASE),
            ("land_area_dm2", FixKind.AREA_UNIT), ("encumbrances.0.secured_amount_cents", FixKind.AMOUNT_UNIT),
            ("encumbrances.1.kind", FixKind.CODE_MAPPED), ("encumbrances.0.kind", FixKind.RENAMED)} <= fixes


def test_sichuan_bdc_v2_record_reads_encumbrances_from_text() -> None:
    raw = {"ZSH": "浙(2017)杭州市不动产权第0012345号", "BDCDYH": UNIT, "XZQDM": "３３０１０６",
           "ZL": "西湖区文三路1号1幢101室", "QLLXMC": "国有建设用地使用权/房屋所有权", "QLXZMC": "出让",
           "YT": "城镇住宅用地/住宅", "TDMJ": "120.50平方米",
           "FWMJ": "89.75㎡", "QLRLB": "自然人", "QLRMC": "陈静", "QLRZJHM": PERSON, "GYQK": "单独所有",
           "SYQZZRQ": "2087年6月30日", "DJRQ": "2017年5月18日", "ZT": "现势",
           "TXQLXX": "抵押|中国建设银行|20180301|1200500.00|20380301;查封|西湖区人民法院|20190101||"}
    normalised = get_dialect("real_estate_registration", "sichuan-bdc-v2").normalise(raw)
    assert normalised.record == ESTATE
    assert ("encumbrances", FixKind.SPLIT) in kinds_of(normalised.fixes)


def test_sichuan_encumbrance_text_with_missing_parts_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        get_dialect("real_estate_registration", "sichuan-bdc-v2").normalise({"TXQLXX": "抵押|中国建设银行|20180301"})
    assert (caught.value.field, caught.value.rule) == ("encumbrances.0", "encumbrance_text.format")


def test_nested_errors_name_the_nested_canonical_field() -> None:
    raw = {"dyxx": [{"qllx": "抵押", "qlr": "银行", "djrq": "2018/2/30"}]}
    with pytest.raises(ValidationError) as caught:
        get_dialect("real_estate_registration", "guangdong-bdc-v1").normalise(raw)
    assert (caught.value.field, caught.value.rule) == ("encumbrances.0.registered_on", "date.invalid")


def test_unknown_local_fields_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        get_dialect("enterprise_registration", "zhejiang-aic-v2").normalise({"qymc": "x", "extra": "1"})
    assert (caught.value.field, caught.value.rule) == ("extra", "dialect.unknown_field")


# -- the identity dialect ------------------------------------------------------------------

def test_identity_dialect_validates_and_reports_what_validation_changed() -> None:
    dialect = get_dialect("enterprise_registration", "canonical")
    raw = {**ENTERPRISE, "uscc": " " + USCC.lower().replace("9", "９"), "name": "华信科技有限公司 "}
    normalised = dialect.normalise(raw)
    assert normalised.record == ENTERPRISE
    assert [f.kind for f in normalised.fixes if f.field == "uscc"] == [FixKind.FULL_WIDTH, FixKind.WHITESPACE,
                                                                       FixKind.CASE]
    assert kinds_of(normalised.fixes) - {("uscc", k) for k in FixKind} == {("name", FixKind.WHITESPACE)}
    assert dialect.normalise(ENTERPRISE).fixes == ()


def test_identity_dialect_upgrades_a_legacy_number() -> None:
    normalised = get_dialect("identity_verification", "canonical").normalise({**IDENTITY, "resident_id": LEGACY_PERSON})
    assert normalised.record["resident_id"] == PERSON
    assert kinds_of(normalised.fixes) == {("resident_id", FixKind.LEGACY_ID_UPGRADED)}


@pytest.mark.parametrize(("item", "key", "expected"), [
    ("enterprise_registration", "９１３３ ０１０６" + USCC[8:].lower(), USCC),
    ("identity_verification", LEGACY_PERSON, PERSON),
    ("tax_payment_certificate", " 337016240300012345 ", "337016240300012345"),
])
def test_delete_keys_are_made_canonical(item: str, key: str, expected: str) -> None:
    assert get_dialect(item, "canonical").canonical_key(key) == expected


def test_an_invalid_delete_key_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        get_dialect("enterprise_registration", "canonical").canonical_key(USCC[:17] + ("0" if USCC[17] != "0" else "1"))
    assert (caught.value.field, caught.value.rule) == ("uscc", "uscc.check_character")
    with pytest.raises(ValidationError) as caught:
        get_dialect("identity_verification", "canonical").canonical_key("12345")
    assert (caught.value.field, caught.value.rule) == ("resident_id", "resident_id.format")


def test_fixes_header_round_trip_keeps_chinese_readable() -> None:
    raw = {"gmsfhm": PERSON, "xm": "陈静", "xb": "2", "mz": "03", "csrq": "19850312", "hjdz": "某路1号",
           "hjdxzqh": "330106", "qfjg": "某分局", "yxqqsrq": "20150301", "yxqjzrq": "长期", "zjzt": "1",
           "hcsj": "2024-03-05 14:22:10"}
    fixes = get_dialect("identity_verification", "hubei-rkk-v1").normalise(raw).fixes
    header = fixes_header(fixes)
    assert fixes_from_header(header) == list(fixes)
    assert "长期".encode() in header


# -- generated samples ---------------------------------------------------------------------

@pytest.mark.parametrize(("item", "name"), ALL_DIALECTS)
def test_generated_samples_round_trip_exactly(item: str, name: str) -> None:
    dialect = get_dialect(item, name)
    good = [s for s in samples(item, name, 120, bad_share=0.0, seed=3)]
    for sample in good:
        normalised = dialect.normalise(sample.local)
        assert normalised.record == sample.expected
        assert kinds_of(normalised.fixes) == sample.expected_fixes, sample.local
    seen = {kind for s in good for _, kind in s.expected_fixes}
    if name != "canonical":
        assert {FixKind.RENAMED, FixKind.DATE_FORMAT, FixKind.CODE_MAPPED, FixKind.FULL_WIDTH,
                FixKind.WHITESPACE} <= seen


@pytest.mark.parametrize(("item", "name"), ALL_DIALECTS)
def test_every_bad_kind_is_rejected_with_its_field_and_rule(item: str, name: str) -> None:
    dialect = get_dialect(item, name)
    bad = [s for s in samples(item, name, 80, bad_share=1.0, seed=4)]
    kinds = {s.bad_kind for s in bad}
    expected_kinds = {BadKind.WRONG_CHECK} if name == "canonical" else {
        BadKind.WRONG_CHECK, BadKind.IMPOSSIBLE_DATE, BadKind.MISSING_REQUIRED}
    if item == "enterprise_registration" and name != "canonical":
        expected_kinds.add(BadKind.LEGACY_ONLY)
    assert kinds == expected_kinds
    for sample in bad:
        assert sample.expected is None and sample.broken is not None
        with pytest.raises(ValidationError) as caught:
            dialect.normalise(sample.local)
        assert (caught.value.field, caught.value.rule) == sample.broken


def test_samples_are_reproducible_and_differ_by_seed() -> None:
    first = samples("identity_verification", "hubei-rkk-v1", 10, seed=9)
    assert first == samples("identity_verification", "hubei-rkk-v1", 10, seed=9)
    assert first != samples("identity_verification", "hubei-rkk-v1", 10, seed=10)


def test_dialects_of_one_item_get_different_records() -> None:
    keys = [{s.key for s in samples("enterprise_registration", d.name, 20, seed=1)}
            for d in dialects_for("enterprise_registration")]
    assert not keys[0] & keys[1] and not keys[1] & keys[2]
