"""Identity verification (居民身份证信息核验) in two provincial public-security dialects.

``hubei-rkk-v1``: a population-database (人口库) extract with the field names of the population
information standard (``gmsfhm`` 公民身份号码, ``xm``, ``xb``, ``mz``, ``csrq``): sex as the GB/T
2261.1 code (``1``/``2``), ethnicity as the GB/T 3304 code (``01``), dates as ``19850312``, the end
of validity as ``20350301`` or ``长期`` (long-term card), card status as a local code, the check
time as a local time without offset (``2024-03-05 14:22:10``), and legacy 15-digit identity
numbers of people never re-registered.

``sichuan-gaj-v3``: a police service system. Upper-case columns (``SFZH``, ``XM``, ``XBMC``),
sex and ethnicity as labels (``男``, ``汉族``), dates as ``1985年3月12日``, the validity period as
printed on the card in one field (``2015.03.01-2035.03.01`` or ``2015.03.01-长期``), card status as
a label (``正常``), the check time as ``20240305142210``, identity numbers with a lower-case ``x``,
full-width digits or spaces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from govbus.exceptions import ValidationError
from schemas.catalogue import DataItem
from streams.dialects import codes
from streams.dialects import parsers as p
from streams.dialects.mapped import Hook, LocalField, MappedDialect
from streams.dialects.model import FixKind
from streams.dialects.parsers import FixLog

_LONG_TERM = p.mapped(codes.LONG_TERM, "validity")


def date_or_long_term(value: Any, field: str, log: FixLog) -> Any:
    """An end-of-validity date, or ``长期`` (long-term: no end) as null."""
    if isinstance(value, str) and p.half_width_alnum(value).strip() in codes.LONG_TERM:
        return _LONG_TERM(value, field, log)
    return p.date(value, field, log)


_PERIOD = re.compile(r"^([0-9]{4}\.[0-9]{1,2}\.[0-9]{1,2})\s*[-—至]\s*([0-9]{4}\.[0-9]{1,2}\.[0-9]{1,2}|长期)$")


def validity_period(local: str) -> Hook:
    """A hook splitting the printed validity period (``2015.03.01-2035.03.01``) into valid_from / valid_until."""

    def hook(raw: Mapping[str, Any], canonical: dict[str, Any], log: FixLog) -> None:
        value = raw.get(local)
        if value is None or not str(value).strip():
            return
        match = _PERIOD.match(p.half_width_alnum(str(value)).strip())
        if match is None:
            raise ValidationError("valid_from", "validity_period.format",
                                  "not a validity period such as 2015.03.01-2035.03.01 "
                                  "or 2015.03.01-长期")
        start, end = match.groups()
        log.add("valid_from", FixKind.SPLIT, value, start)
        canonical["valid_from"] = p.date(start, "valid_from", log)
        log.add("valid_until", FixKind.SPLIT, value, end)
        until = date_or_long_term(end, "valid_until", log)
        if until is not None:
            canonical["valid_until"] = until

    return hook


def hubei_rkk_v1(item: DataItem) -> MappedDialect:
    fields = [
        LocalField("gmsfhm", "公民身份号码 (identity number), 18 or legacy 15 digits", "resident_id", p.resident_id),
        LocalField("xm", "姓名 (name)", "name", p.text),
        LocalField("xb", "性别 (sex), GB/T 2261.1 code: 1 male, 2 female", "gender",
                   p.mapped(codes.GENDER_CODES, "GB/T 2261.1 sex code")),
        LocalField("mz", "民族 (ethnic group), GB/T 3304 code, e.g. 01", "ethnicity",
                   p.mapped(codes.ETHNICITY_CODES, "GB/T 3304 ethnic group code")),
        LocalField("csrq", "出生日期 (birth date) as YYYYMMDD", "birth_date", p.date),
        LocalField("hjdz", "户籍地址 (household address)", "household_address", p.text),
        LocalField("hjdxzqh", "户籍地行政区划 (division code of the household registration)", "division_code", p.code),
        LocalField("qfjg", "签发机关 (issuing authority)", "issuing_authority", p.text),
        LocalField("yxqqsrq", "有效期起始日期 (valid from) as YYYYMMDD", "valid_from", p.date),
        LocalField("yxqjzrq", "有效期截止日期 (valid until) as YYYYMMDD, or 长期 for a long-term card", "valid_until",
                   date_or_long_term),
        LocalField("zjzt", "证件状态 (card status): 1 valid, 2 expired, 3 reported lost, 4 cancelled", "card_status",
                   p.mapped(codes.CARD_STATUS_CODES, "card status code")),
        LocalField("hcsj", "核查时间 (last confirmed), Beijing time without offset", "verified_at", p.timestamp),
    ]
    return MappedDialect("hubei-rkk-v1", item, "Hubei population database extract, version 1 (湖北人口库)", fields)


def sichuan_gaj_v3(item: DataItem) -> MappedDialect:
    fields = [
        LocalField("SFZH", "身份证号", "resident_id", p.resident_id),
        LocalField("XM", "姓名", "name", p.text),
        LocalField("XBMC", "性别名称: 男 / 女", "gender", p.mapped(codes.GENDER_LABELS, "sex")),
        LocalField("MZMC", "民族名称, e.g. 汉族", "ethnicity", p.mapped(codes.ETHNICITY_LABELS, "ethnic group")),
        LocalField("CSRQ", "出生日期, e.g. 1985年3月12日", "birth_date", p.date),
        LocalField("ZZ", "住址 (address on the card)", "household_address", p.text),
        LocalField("SSXQ", "所属县区 division code", "division_code", p.code),
        LocalField("QFJG", "签发机关", "issuing_authority", p.text),
        LocalField("YXQX", "有效期限 as printed: 2015.03.01-2035.03.01 or 2015.03.01-长期"),
        LocalField("ZJZT", "证件状态: 正常, 过期, 挂失, 注销", "card_status",
                   p.mapped(codes.CARD_STATUS_LABELS, "card status")),
        LocalField("HCSJ", "核查时间 as YYYYMMDDHHMMSS, Beijing time", "verified_at", p.timestamp),
    ]
    return MappedDialect("sichuan-gaj-v3", item, "Sichuan public security service system, version 3 (四川公安)",
                         fields, validity_period("YXQX"))
