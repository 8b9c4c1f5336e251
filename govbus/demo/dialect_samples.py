"""Seeded synthetic records in every dialect, each knowing what it must normalise to.

    from govbus.demo.dialect_samples import samples

    for sample in samples("enterprise_registration", "zhejiang-aic-v2", 100, bad_share=0.2, seed=7):
        sample.local           # the record as the local system sends it (Avro-ready for the dialect)
        sample.expected        # the canonical record it normalises to (None for a bad one)
        sample.expected_fixes  # {(field, kind), ...} the normaliser must report
        sample.broken          # (canonical field, rule) a bad one is rejected with, else None

A sample starts from a valid canonical record (the catalogue's seeded generators, with a few
realistic touches: ethnic groups, registered uses), which is then *rendered* in the dialect: local
field names, the dialect's date formats, units and codes, and at random the text habits of local
systems (full-width digits and letters, spaces inside codes and between Chinese characters,
lower-case letters, legacy 15-digit identity numbers, a registration number beside the credit
code). The renderer records each change it makes as the fix the normaliser should report, so
tests compare both the record and the fixes exactly. A bad sample breaks one rule on purpose
(:class:`BadKind`): a wrong check character, an impossible date, a missing required field, or
(enterprise registration) only a legacy registration number.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from govbus.demo.synthetic import DIVISIONS, enterprise_registrations
from govbus.demo.synthetic_items import records_for
from govbus.identifiers import USCC_ALPHABET
from schemas.catalogue import DataItem, IdentifierKind
from streams.dialects import codes, dialects_for
from streams.dialects.mapped import MappedDialect
from streams.dialects.model import Dialect, FixKind, IdentityDialect
from streams.dialects.parsers import BEIJING, registration_number_check_digit

Expected = frozenset[tuple[str, FixKind]]


class BadKind(StrEnum):
    WRONG_CHECK = "wrong_check"
    """An identifier's check character is wrong (``<kind>.check_character``)."""
    IMPOSSIBLE_DATE = "impossible_date"
    """A date that does not exist, in the dialect's format (``date.invalid``)."""
    MISSING_REQUIRED = "missing_required"
    """A required field is empty (``required``)."""
    LEGACY_ONLY = "legacy_only"
    """Only a legacy registration number, no credit code (``uscc.legacy_only``; enterprise dialects)."""


@dataclass(frozen=True)
class DialectSample:
    """One record in one dialect and what the normaliser must make of it."""

    item: str
    dialect: str
    local: dict[str, Any]
    key: str
    expected: dict[str, Any] | None
    expected_fixes: Expected
    broken: tuple[str, str] | None = None
    bad_kind: BadKind | None = None


# -- canonical starting points ------------------------------------------------------------

_USES = ("城镇住宅用地/住宅", "商服用地/商业", "工业用地/厂房", "城镇住宅用地/车位")
_BANKS = ("中国工商银行", "中国建设银行", "中国农业银行", "中国银行", "招商银行")
_COURTS = ("某区人民法院", "某市中级人民法院")


def canonical_records(item: DataItem, count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` valid canonical records of ``item`` (validated, Avro-ready)."""
    rng = random.Random(seed * 31 + 7)
    if item.name == "enterprise_registration":
        raw = [s.record for s in enterprise_registrations(count, invalid_share=0.0, seed=seed)]
    else:
        raw = [s.record for s in records_for(item, count, invalid_share=0.0, seed=seed)]
    touch = _TOUCHES.get(item.name)
    out = []
    for record in raw:
        if touch is not None:
            touch(rng, record)
        out.append(item.validate(record))
    return out


def _touch_identity(rng: random.Random, record: dict[str, Any]) -> None:
    record["ethnicity"] = "汉" if rng.random() < 0.8 else rng.choice(codes.ETHNIC_GROUPS)
    record["issuing_authority"] = f"{record['division_code']}公安局{rng.choice(('东城', '西湖', '南山'))}分局"
    if rng.random() < 0.3:
        record["valid_until"] = None  # a long-term card


def _touch_real_estate(rng: random.Random, record: dict[str, Any]) -> None:
    record["usage"] = rng.choice(_USES)
    record["land_area_dm2"] = rng.randrange(2_000, 80_000)  # 20 to 800 m²
    if record.get("floor_area_dm2") is not None:
        record["floor_area_dm2"] = rng.randrange(3_000, 30_000)
    for encumbrance in record.get("encumbrances") or []:
        encumbrance["holder"] = rng.choice(_COURTS if encumbrance["kind"] == "SEIZURE" else _BANKS)
        if encumbrance["kind"] != "MORTGAGE":
            encumbrance["secured_amount_cents"] = None


def _touch_tax(rng: random.Random, record: dict[str, Any]) -> None:
    record["tax_authority"] = f"国家税务总局{record['tax_authority_division_code']}税务局"


_TOUCHES: dict[str, Callable[[random.Random, dict[str, Any]], None]] = {
    "identity_verification": _touch_identity,
    "real_estate_registration": _touch_real_estate,
    "tax_payment_certificate": _touch_tax,
}


# -- rendering ----------------------------------------------------------------------------

def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def date_text(year: int, month: int, day: int, style: str) -> str:
    """A date in a local ``style``; the parts may name an impossible day on purpose."""
    styles = {"cn": f"{year}年{month}月{day}日", "slash": f"{year}/{month}/{day}",
              "compact": f"{year}{month:02d}{day:02d}", "dots": f"{year}.{month:02d}.{day:02d}"}
    return styles[style]


def registration_number(rng: random.Random, division: str) -> str:
    """A well-formed 15-digit legacy registration number (注册号) issued in ``division``."""
    first14 = division + f"{rng.randrange(10**8):08d}"
    return first14 + str(registration_number_check_digit(first14))


class Renderer:
    """Renders canonical values in local habits and records the fixes that undo them."""

    def __init__(self, rng: random.Random, dirty_share: float, keep_check: str | None = None) -> None:
        self.rng = rng
        self.dirty_share = dirty_share
        self.keep_check = keep_check
        """A field whose check character must survive (never sent in its legacy 15-digit form)."""
        self.fixes: set[tuple[str, FixKind]] = set()
        self.date_styles: dict[str, tuple[str, str]] = {}
        self.text_fields: dict[str, str] = {}

    def fix(self, field: str, *kinds: FixKind) -> None:
        self.fixes.update((field, kind) for kind in kinds)

    def _dirty(self) -> bool:
        return self.rng.random() < self.dirty_share

    def renamed(self, field: str, value: Any) -> Any:
        if value is not None:
            self.fix(field, FixKind.RENAMED)
        return value

    def text(self, local: str, field: str, value: str | None) -> str | None:
        """Maybe full-width digits and letters, spaces between Chinese characters or padding."""
        self.text_fields[field] = local
        if value is None:
            return None
        self.renamed(field, value)
        result = value
        if self._dirty() and any(c.isascii() and c.isalnum() for c in result):
            result = _full_width(result)
            self.fix(field, FixKind.FULL_WIDTH)
        if self._dirty():
            if len(value) >= 2 and "\u4e00" <= value[0] <= "\u9fff" and "\u4e00" <= value[1] <= "\u9fff":
                result = result[0] + self.rng.choice(("\u3000", "  ", " ")) + result[1:]
                if "\u3000" in result:
                    self.fix(field, FixKind.FULL_WIDTH)
            else:
                result = f" {result}  "
            self.fix(field, FixKind.WHITESPACE)
        return result

    def code(self, field: str, value: str | None, lower: bool = True, full_width: bool = True) -> str | None:
        """Maybe full-width, spaces every four characters, lower case."""
        if value is None:
            return None
        self.renamed(field, value)
        result = value
        if lower and self._dirty() and any(c.isalpha() for c in result):
            result = result.lower()
            self.fix(field, FixKind.CASE)
        if self._dirty():
            result = " ".join(result[i:i + 4] for i in range(0, len(result), 4))
            self.fix(field, FixKind.WHITESPACE)
        if full_width and self._dirty():
            result = _full_width(result)
            self.fix(field, FixKind.FULL_WIDTH)
        return result

    def resident_id(self, field: str, value: str | None, legacy_ok: bool = True) -> str | None:
        """Maybe the legacy 15-digit form (born 1900-1999), else cleaned like a code."""
        if value is not None and legacy_ok and field != self.keep_check and value[6:8] == "19" and self._dirty():
            self.renamed(field, value)
            self.fix(field, FixKind.LEGACY_ID_UPGRADED)
            return value[:6] + value[8:17]
        return self.code(field, value)

    def date(self, local: str, field: str, value: dt.date | None, style: str) -> str | None:
        self.date_styles[field] = (local, style)
        if value is None:
            return None
        self.fix(field, FixKind.RENAMED, FixKind.DATE_FORMAT)
        return date_text(value.year, value.month, value.day, style)

    def timestamp(self, field: str, value: dt.datetime | None, style: str) -> str | None:
        if value is None:
            return None
        local = value.astimezone(BEIJING)
        self.fix(field, FixKind.RENAMED, FixKind.TIMEZONE_ASSUMED)
        if style == "iso":
            return local.strftime("%Y-%m-%d %H:%M:%S")
        self.fix(field, FixKind.TIMESTAMP_FORMAT)
        if style == "slash":
            return f"{local.year}/{local.month}/{local.day} {local:%H:%M:%S}"
        return local.strftime("%Y%m%d%H%M%S")

    def yuan(self, field: str, cents: int | None, decorated: bool = False) -> str | None:
        if cents is None:
            return None
        self.fix(field, FixKind.RENAMED, FixKind.AMOUNT_UNIT)
        text = f"{Decimal(cents) / 100:,.2f}"
        return f"¥{text}元" if decorated else text

    def wan_yuan(self, field: str, cents: int | None) -> str | None:
        if cents is None:
            return None
        self.fix(field, FixKind.RENAMED, FixKind.AMOUNT_UNIT)
        return format((Decimal(cents) / 1_000_000).normalize(), "f")

    def square_metres(self, field: str, dm2: int | None, suffix: str = "") -> str | None:
        if dm2 is None:
            return None
        self.fix(field, FixKind.RENAMED, FixKind.AREA_UNIT)
        return f"{Decimal(dm2) / 100:.2f}{suffix}"

    def mapped(self, field: str, value: str | None, table: Mapping[str, str | None]) -> str | None:
        if value is None:
            return None
        self.fix(field, FixKind.RENAMED, FixKind.CODE_MAPPED)
        return codes.local_code(table, value)


# -- the dialects -------------------------------------------------------------------------

Render = Callable[[dict[str, Any], Renderer], dict[str, Any]]


def _zhejiang_aic_v2(c: dict[str, Any], r: Renderer) -> dict[str, Any]:
    local = {
        "tyshxydm": r.code("uscc", c["uscc"]),
        "zch": None,
        "qymc": r.text("qymc", "name", c["name"]),
        "fddbr": r.text("fddbr", "legal_representative", c["legal_representative"]),
        "djjgxzqh": r.code("division_code", c["division_code"]),
        "zczb": r.wan_yuan("registered_capital_cents", c["registered_capital_cents"]),
        "clrq": r.date("clrq", "established_on", c["established_on"], "cn"),
        "djzt": r.mapped("status", c["status"], codes.ENTERPRISE_STATUS_LABELS),
        "zs": r.text("zs", "address", c["address"]),
        "qylx": r.mapped("enterprise_type", c["enterprise_type"], codes.ENTERPRISE_TYPE_LABELS),
        "djjg": r.text("djjg", "registration_authority", c["registration_authority"]),
        "jyfw": r.text("jyfw", "business_scope", c["business_scope"]),
        "hzrq": r.date("hzrq", "status_changed_on", c["status_changed_on"], "cn"),
    }
    _maybe_registration_number(local, "zch", c, r)
    return local


def _guangdong_scjg_v1(c: dict[str, Any], r: Renderer) -> dict[str, Any]:
    local = {
        "SHXYDM": r.code("uscc", c["uscc"]),
        "ZCH": None,
        "QYMC": r.text("QYMC", "name", c["name"]),
        "FRDB": r.text("FRDB", "legal_representative", c["legal_representative"]),
        "XZQHDM": r.code("division_code", c["division_code"]),
        "ZCZB": r.yuan("registered_capital_cents", c["registered_capital_cents"]),
        "CLRQ": r.date("CLRQ", "established_on", c["established_on"], "compact"),
        "DJZTDM": r.mapped("status", c["status"], codes.ENTERPRISE_STATUS_CODES),
        "ZS": r.text("ZS", "address", c["address"]),
        "QYLXDM": r.mapped("enterprise_type", c["enterprise_type"], codes.ENTERPRISE_TYPE_CODES),
        "DJJG": r.text("DJJG", "registration_authority", c["registration_authority"]),
        "JYFW": r.text("JYFW", "business_scope", c["business_scope"]),
        "BGRQ": r.date("BGRQ", "status_changed_on", c["status_changed_on"], "slash"),
    }
    _maybe_registration_number(local, "ZCH", c, r)
    return local


def _maybe_registration_number(local: dict[str, Any], field: str, c: dict[str, Any], r: Renderer) -> None:
    if r.rng.random() < 0.3:
        local[field] = registration_number(r.rng, c["division_code"])
        r.fix("uscc", FixKind.LEGACY_REGISTRATION_NUMBER)


def _hubei_rkk_v1(c: dict[str, Any], r: Renderer) -> dict[str, Any]:
    valid_until = c["valid_until"]
    if valid_until is None:
        r.fix("valid_until", FixKind.RENAMED, FixKind.CODE_MAPPED)
    return {
        "gmsfhm": r.resident_id("resident_id", c["resident_id"]),
        "xm": r.text("xm", "name", c["name"]),
        "xb": r.mapped("gender", c["gender"], codes.GENDER_CODES),
        "mz": r.mapped("ethnicity", c["ethnicity"], codes.ETHNICITY_CODES),
        "csrq": r.date("csrq", "birth_date", c["birth_date"], "compact"),
        "hjdz": r.text("hjdz", "household_address", c["household_address"]),
        "hjdxzqh": r.code("division_code", c["division_code"]),
        "qfjg": r.text("qfjg", "issuing_authority", c["issuing_authority"]),
        "yxqqsrq": r.date("yxqqsrq", "valid_from", c["valid_from"], "compact"),
        "yxqjzrq": "长期" if valid_until is None else r.date("yxqjzrq", "valid_until", valid_until, "compact"),
        "zjzt": r.mapped("card_status", c["card_status"], codes.CARD_STATUS_CODES),
        "hcsj": r.timestamp("verified_at", c["verified_at"], "iso"),
    }


def _sichuan_gaj_v3(c: dict[str, Any], r: Renderer) -> dict[str, Any]:
    start, until = c["valid_from"], c["valid_until"]
    r.fix("valid_from", FixKind.SPLIT, FixKind.DATE_FORMAT)
    r.fix("valid_until", FixKind.SPLIT, FixKind.CODE_MAPPED if until is None else FixKind.DATE_FORMAT)
    period = f"{start:%Y.%m.%d}-" + ("长期" if until is None else f"{until:%Y.%m.%d}")
    return {
        "SFZH": r.resident_id("resident_id", c["resident_id"]),
        "XM": r.text("XM", "name", c["name"]),
        "XBMC": r.mapped("gender", c["gender"], codes.GENDER_LABELS),
        "MZMC": r.mapped("ethnicity", c["ethnicity"], codes.ETHNICITY_LABELS),
        "CSRQ": r.date("CSRQ", "birth_date", c["birth_date"], "cn"),
        "ZZ": r.text("ZZ", "household_address", c["household_address"]),
        "SSXQ": r.code("division_code", c["division_code"]),
        "QFJG": r.text("QFJG", "issuing_authority", c["issuing_authority"]),
        "YXQX": period,
        "ZJZT": r.mapped("card_status", c["card_status"], codes.CARD_STATUS_LABELS),
        "HCSJ": r.timestamp("verified_at", c["verified_at"], "compact"),
    }


def _shandong_jin3_v1(c: dict[str, Any], r: Renderer) -> dict[str, Any]:
    organisation = c["taxpayer_kind"] == "ORGANISATION"
    identifier = (r.code("taxpayer_uscc", c["taxpayer_uscc"]) if organisation
                  else r.resident_id("taxpayer_resident_id", c["taxpayer_resident_id"]))
    return {
        "wszmhm": r.code("certificate_number", c["certificate_number"]),
        "nsrlx": r.mapped("taxpayer_kind", c["taxpayer_kind"], codes.TAXPAYER_KIND_CODES),
        "nsrmc": r.text("nsrmc", "taxpayer_name", c["taxpayer_name"]),
        "nsrsbh": identifier,
        "swjgmc": r.text("swjgmc", "tax_authority", c["tax_authority"]),
        "swjgxzqh": r.code("tax_authority_division_code", c["tax_authority_division_code"]),
        "zsxmdm": r.mapped("tax_type", c["tax_type"], codes.TAX_TYPE_CODES),
        "skssqq": r.date("skssqq", "period_start", c["period_start"], "slash"),
        "skssqz": r.date("skssqz", "period_end", c["period_end"], "slash"),
        "sjje": r.yuan("amount_cents", c["amount_cents"]),
        "rksj": r.timestamp("paid_at", c["paid_at"], "slash"),
        "kjrq": r.date("kjrq", "issued_on", c["issued_on"], "slash"),
    }


def _jiangsu_etax_v2(c: dict[str, Any], r: Renderer) -> dict[str, Any]:
    r.fix("tax_authority_division_code", FixKind.DERIVED)
    return {
        "pzxh": r.code("certificate_number", c["certificate_number"]),
        "nsrlb": r.mapped("taxpayer_kind", c["taxpayer_kind"], codes.TAXPAYER_KIND_LABELS),
        "nsrmc": r.text("nsrmc", "taxpayer_name", c["taxpayer_name"]),
        "tyshxydm": r.code("taxpayer_uscc", c["taxpayer_uscc"]),
        "sfzjhm": r.resident_id("taxpayer_resident_id", c["taxpayer_resident_id"]),
        "zgswjg": r.text("zgswjg", "tax_authority", c["tax_authority"]),
        "zgswjgdm": f"1{c['tax_authority_division_code']}0000",
        "zsxmmc": r.mapped("tax_type", c["tax_type"], codes.TAX_TYPE_LABELS),
        "ssqq": r.date("ssqq", "period_start", c["period_start"], "cn"),
        "ssqz": r.date("ssqz", "period_end", c["period_end"], "cn"),
        "je": r.yuan("amount_cents", c["amount_cents"], decorated=True),
        "rkrq": r.timestamp("paid_at", c["paid_at"], "compact"),
        "tprq": r.date("tprq", "issued_on", c["issued_on"], "compact"),
    }


def _owner_id(c: dict[str, Any], r: Renderer) -> str | None:
    if c["owner_kind"] == "NATURAL_PERSON":
        return r.resident_id("owner_resident_id", c["owner_resident_id"])
    return r.code("owner_uscc", c["owner_uscc"])


def _unit_number(value: str, r: Renderer) -> str:
    """As printed on a certificate: ``440305 004003 GB00012 F00010001``, maybe in lower case."""
    r.fix("unit_number", FixKind.RENAMED, FixKind.WHITESPACE)
    printed = f"{value[:6]} {value[6:12]} {value[12:19]} {value[19:]}"
    if r.rng.random() < r.dirty_share:
        r.fix("unit_number", FixKind.CASE)
        return printed.lower()
    return printed


def _guangdong_bdc_v1(c: dict[str, Any], r: Renderer) -> dict[str, Any]:
    r.fix("division_code", FixKind.DERIVED)
    encumbrances = []
    for index, e in enumerate(c["encumbrances"]):
        prefix = f"encumbrances.{index}."
        encumbrances.append({
            "qllx": r.mapped(prefix + "kind", e["kind"], codes.ENCUMBRANCE_LABELS),
            "qlr": r.text("qlr", prefix + "holder", e["holder"]),
            "djrq": r.date("djrq", prefix + "registered_on", e["registered_on"], "slash"),
            "bdbzzqse": r.wan_yuan(prefix + "secured_amount_cents", e["secured_amount_cents"]),
            "jsrq": r.date("jsrq", prefix + "ends_on", e["ends_on"], "slash"),
        })
    return {
        "bdcqzh": r.text("bdcqzh", "certificate_number", c["certificate_number"]),
        "bdcdyh": _unit_number(c["unit_number"], r),
        "zl": r.text("zl", "location", c["location"]),
        "qllx": r.mapped("right_type", c["right_type"], codes.RIGHT_TYPE_CODES),
        "qlxz": r.mapped("right_nature", c["right_nature"], codes.RIGHT_NATURE_CODES),
        "yt": r.text("yt", "usage", c["usage"]),
        "zdmj": r.square_metres("land_area_dm2", c["land_area_dm2"]),
        "jzmj": r.square_metres("floor_area_dm2", c["floor_area_dm2"]),
        "qlrlx": r.mapped("owner_kind", c["owner_kind"], codes.OWNER_KIND_CODES),
        "qlr": r.text("qlr", "owner_name", c["owner_name"]),
        "zjh": _owner_id(c, r),
        "gyfs": r.mapped("co_ownership", c["co_ownership"], codes.CO_OWNERSHIP_CODES),
        "tdsyjsrq": r.date("tdsyjsrq", "land_use_ends_on", c["land_use_ends_on"], "slash"),
        "dbsj": r.date("dbsj", "registered_on", c["registered_on"], "slash"),
        "dyxx": r.renamed("encumbrances", encumbrances or None),
        "qszt": r.mapped("status", c["status"], codes.REGISTRATION_STATUS_CODES),
    }


def _encumbrance_text(c: dict[str, Any], r: Renderer) -> str | None:
    if not c["encumbrances"]:
        return None
    r.fix("encumbrances", FixKind.RENAMED, FixKind.SPLIT)
    rows = []
    for index, e in enumerate(c["encumbrances"]):
        prefix = f"encumbrances.{index}."
        r.fix(prefix + "kind", FixKind.CODE_MAPPED)
        r.fix(prefix + "registered_on", FixKind.DATE_FORMAT)
        amount = ""
        if e["secured_amount_cents"] is not None:
            amount = f"{Decimal(e['secured_amount_cents']) / 100:.2f}"
            r.fix(prefix + "secured_amount_cents", FixKind.AMOUNT_UNIT)
        ends = ""
        if e["ends_on"] is not None:
            ends = f"{e['ends_on']:%Y%m%d}"
            r.fix(prefix + "ends_on", FixKind.DATE_FORMAT)
        kind = codes.local_code(codes.ENCUMBRANCE_LABELS, e["kind"])
        rows.append(f"{kind}|{e['holder']}|{e['registered_on']:%Y%m%d}|{amount}|{ends}")
    return ";".join(rows)


def _sichuan_bdc_v2(c: dict[str, Any], r: Renderer) -> dict[str, Any]:
    return {
        "ZSH": r.text("ZSH", "certificate_number", c["certificate_number"]),
        "BDCDYH": r.code("unit_number", c["unit_number"]),
        "XZQDM": r.code("division_code", c["division_code"]),
        "ZL": r.text("ZL", "location", c["location"]),
        "QLLXMC": r.mapped("right_type", c["right_type"], codes.RIGHT_TYPE_LABELS),
        "QLXZMC": r.mapped("right_nature", c["right_nature"], codes.RIGHT_NATURE_LABELS),
        "YT": r.text("YT", "usage", c["usage"]),
        "TDMJ": r.square_metres("land_area_dm2", c["land_area_dm2"], "平方米"),
        "FWMJ": r.square_metres("floor_area_dm2", c["floor_area_dm2"], "㎡"),
        "QLRLB": r.mapped("owner_kind", c["owner_kind"], codes.OWNER_KIND_LABELS),
        "QLRMC": r.text("QLRMC", "owner_name", c["owner_name"]),
        "QLRZJHM": _owner_id(c, r),
        "GYQK": r.mapped("co_ownership", c["co_ownership"], codes.CO_OWNERSHIP_LABELS),
        "SYQZZRQ": r.date("SYQZZRQ", "land_use_ends_on", c["land_use_ends_on"], "cn"),
        "DJRQ": r.date("DJRQ", "registered_on", c["registered_on"], "cn"),
        "TXQLXX": _encumbrance_text(c, r),
        "ZT": r.mapped("status", c["status"], codes.REGISTRATION_STATUS_LABELS),
    }


RENDERERS: dict[str, Render] = {
    "zhejiang-aic-v2": _zhejiang_aic_v2, "guangdong-scjg-v1": _guangdong_scjg_v1,
    "hubei-rkk-v1": _hubei_rkk_v1, "sichuan-gaj-v3": _sichuan_gaj_v3,
    "shandong-jin3-v1": _shandong_jin3_v1, "jiangsu-etax-v2": _jiangsu_etax_v2,
    "guangdong-bdc-v1": _guangdong_bdc_v1, "sichuan-bdc-v2": _sichuan_bdc_v2,
}
"""Every local dialect's renderer, by dialect name."""

_REQUIRED_TEXT = {
    "enterprise_registration": ("name", "legal_representative", "address"),
    "identity_verification": ("name", "household_address", "issuing_authority"),
    "tax_payment_certificate": ("taxpayer_name", "tax_authority"),
    "real_estate_registration": ("location", "owner_name", "usage"),
}
"""Required text fields a bad sample may leave empty."""

_REQUIRED_DATES = {
    "enterprise_registration": ("established_on",),
    "identity_verification": ("birth_date",),
    "tax_payment_certificate": ("period_start", "issued_on"),
    "real_estate_registration": ("registered_on",),
}
"""Required date fields a bad sample may give an impossible day."""


# -- samples ------------------------------------------------------------------------------

def samples(item: str, dialect: str, count: int, bad_share: float = 0.1, seed: int = 2017,
            dirty_share: float = 0.3) -> list[DialectSample]:
    """``count`` samples of ``item`` in ``dialect`` (``canonical`` for the department topic);
    about ``bad_share`` break a rule; ``dirty_share`` is the chance of each text habit."""
    target = next((d for d in dialects_for(item) if d.name == dialect), None)
    if target is None:
        raise KeyError(f"{item} has no dialect {dialect!r}")
    rng = random.Random(f"{seed}:{item}:{dialect}")
    position = [d.name for d in dialects_for(item)].index(dialect)
    out = []
    for record in canonical_records(target.item, count, seed + 1000 * position):
        bad = _bad_kind(rng, target) if rng.random() < bad_share else None
        if isinstance(target, MappedDialect):
            out.append(_local_sample(target, record, rng, bad, dirty_share))
        else:
            out.append(_canonical_sample(target, record, rng, bad, dirty_share))
    return out


def _bad_kind(rng: random.Random, dialect: Dialect) -> BadKind:
    if isinstance(dialect, IdentityDialect):
        return BadKind.WRONG_CHECK  # an Avro record of the canonical schema cannot miss a field or hold a bad date
    kinds = [BadKind.WRONG_CHECK, BadKind.IMPOSSIBLE_DATE, BadKind.MISSING_REQUIRED]
    if dialect.item.name == "enterprise_registration":
        kinds.append(BadKind.LEGACY_ONLY)
    return rng.choice(kinds)


def _local_sample(dialect: MappedDialect, record: dict[str, Any], rng: random.Random, bad: BadKind | None,
                  dirty_share: float) -> DialectSample:
    source = dict(record)
    broken = None
    keep_check = None
    if bad is BadKind.WRONG_CHECK:
        keep_check, kind = _checked_identifier(dialect.item, record)
        source[keep_check] = _break_check(record[keep_check])
        broken = (keep_check, f"{kind}.check_character")
    renderer = Renderer(rng, dirty_share, keep_check)
    local = RENDERERS[dialect.name](source, renderer)
    if bad is BadKind.IMPOSSIBLE_DATE:
        field = rng.choice(_REQUIRED_DATES[dialect.item.name])
        name, style = renderer.date_styles[field]
        local[name] = date_text(record[field].year, 2, 30, style)
        broken = (field, "date.invalid")
    elif bad is BadKind.MISSING_REQUIRED:
        field = rng.choice(_REQUIRED_TEXT[dialect.item.name])
        local[renderer.text_fields[field]] = rng.choice((None, "", "  "))
        broken = (field, "required")
    elif bad is BadKind.LEGACY_ONLY:
        uscc_field = next(f.name for f in dialect.fields if f.canonical == "uscc")
        number_field = next(f.name for f in dialect.fields if f.canonical is None)
        local[uscc_field] = None
        local[number_field] = registration_number(rng, record["division_code"])
        broken = ("uscc", "uscc.legacy_only")
    key = dialect.item.key_of(record)
    if broken is not None:
        return DialectSample(dialect.item.name, dialect.name, local, key, None, frozenset(), broken, bad)
    return DialectSample(dialect.item.name, dialect.name, local, key, record, frozenset(renderer.fixes))


def _canonical_sample(dialect: Dialect, record: dict[str, Any], rng: random.Random, bad: BadKind | None,
                      dirty_share: float) -> DialectSample:
    """A department-topic record: canonical, maybe with one identifier typed in lower case or full width."""
    local = dict(record)
    field, kind = _checked_identifier(dialect.item, record)
    key = dialect.item.key_of(record)
    if bad is BadKind.WRONG_CHECK:
        local[field] = _break_check(record[field])
        return DialectSample(dialect.item.name, dialect.name, local, key, None, frozenset(),
                             (field, f"{kind}.check_character"), bad)
    fixes: set[tuple[str, FixKind]] = set()
    if rng.random() < dirty_share:
        local[field] = _full_width(record[field].lower())
        fixes.add((field, FixKind.FULL_WIDTH))
        if any(c.isalpha() for c in record[field]):
            fixes.add((field, FixKind.CASE))
    return DialectSample(dialect.item.name, dialect.name, local, key, record, frozenset(fixes))


def _checked_identifier(item: DataItem, record: dict[str, Any]) -> tuple[str, str]:
    """The first identifier field with a check character that ``record`` fills, and its kind."""
    for field, kind in item.identifier_fields.items():
        if kind in (IdentifierKind.USCC, IdentifierKind.RESIDENT_ID) and record.get(field):
            return field, kind.value
    raise ValueError(f"{item.name} record has no identifier with a check character")


def _break_check(code: str) -> str:
    """The same identifier with a wrong check character."""
    if code[:17].isdigit():  # a resident identity number: the check is 0-9 or X
        return code[:17] + ("0" if code[17] != "0" else "1")
    right = USCC_ALPHABET.index(code[17])
    return code[:17] + USCC_ALPHABET[(right + 7) % len(USCC_ALPHABET)]


# -- events -------------------------------------------------------------------------------

def change_event(sample: DialectSample, department: str, rng: random.Random) -> dict[str, Any]:
    """The change-event envelope (Avro-ready) carrying ``sample.local``, with a seeded event id."""
    occurred = dt.datetime(2024, 3, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=rng.randrange(0, 10**7))
    return {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "data_item": sample.item,
        "department": department,
        "source_system": sample.dialect,
        "operation": "UPSERT",
        "record_key": sample.key,
        "occurred_at": occurred,
        "published_at": occurred + dt.timedelta(seconds=rng.randrange(1, 600)),
        "trace_id": f"{rng.getrandbits(128):032x}",
        "record": sample.local,
    }


__all__ = ["DIVISIONS", "BadKind", "DialectSample", "Renderer", "canonical_records", "change_event", "samples"]
