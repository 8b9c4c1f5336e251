"""Tax payment certificates (税收完税证明) in two provincial taxation dialects.

``shandong-jin3-v1``: a Golden Tax III (金税三期) extract with pinyin-initial names (``wszmhm``,
``nsrmc``, ``nsrsbh``): one taxpayer identification number field (纳税人识别号) that holds the
unified social credit code of an organisation *or* the identity number of an individual,
taxpayer kind as a code (``1`` organisation, ``2`` individual), tax item as a five-digit code
(``10101``), the tax period as ``2017/5/1``, the amount in yuan (``12,345.60``), the treasury
time as ``2024/3/5 14:22:10`` (Beijing time).

``jiangsu-etax-v2``: an electronic tax bureau (电子税务局) export: separate credit-code and
identity-number fields (the latter sometimes legacy 15-digit), kind and tax item as labels
(``单位``, ``增值税``), dates as ``2017年5月1日``, the amount as ``¥12,345.60元``, the treasury
time as ``20240305142210``, and no division code: it is derived from the 11-digit tax authority
code (``1`` + division code + 4 digits, e.g. ``13201060000`` -> ``320106``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from govbus.exceptions import ValidationError
from govbus.identifiers import ascii_digits
from schemas.catalogue import DataItem
from streams.dialects import codes
from streams.dialects import parsers as p
from streams.dialects.mapped import Hook, LocalField, MappedDialect, route_identifier
from streams.dialects.model import FixKind
from streams.dialects.parsers import FixLog

DIVISION = "tax_authority_division_code"


def division_from_authority_code(local: str) -> Hook:
    """Derive the tax authority's division code from its 11-digit code (``1`` + division + 4 digits)."""

    def hook(raw: Mapping[str, Any], canonical: dict[str, Any], log: FixLog) -> None:
        value = raw.get(local)
        authority = p.code(value, DIVISION, log) if value is not None else None
        if authority is None:
            return
        if len(authority) != 11 or not ascii_digits(authority) or authority[0] != "1":
            raise ValidationError(DIVISION, "tax_authority_code.format",
                                  f"cannot be derived: tax authority code {value!r} is not 1 + 10 digits")
        division = authority[1:7]
        log.add(DIVISION, FixKind.DERIVED, authority, division)
        canonical[DIVISION] = division

    return hook


def shandong_jin3_v1(item: DataItem) -> MappedDialect:
    fields = [
        LocalField("wszmhm", "完税证明号码 (certificate number)", "certificate_number", p.code),
        LocalField("nsrlx", "纳税人类型: 1 organisation (单位), 2 individual (个人)", "taxpayer_kind",
                   p.mapped(codes.TAXPAYER_KIND_CODES, "taxpayer kind code")),
        LocalField("nsrmc", "纳税人名称 (taxpayer name)", "taxpayer_name", p.text),
        LocalField("nsrsbh", "纳税人识别号: the credit code of an organisation or the identity number of a person"),
        LocalField("swjgmc", "税务机关名称 (tax authority)", "tax_authority", p.text),
        LocalField("swjgxzqh", "税务机关行政区划代码", DIVISION, p.code),
        LocalField("zsxmdm", "征收项目代码 (tax item code), e.g. 10101", "tax_type",
                   p.mapped(codes.TAX_TYPE_CODES, "tax item code")),
        LocalField("skssqq", "税款所属期起 as 2017/5/1", "period_start", p.date),
        LocalField("skssqz", "税款所属期止 as 2017/5/31", "period_end", p.date),
        LocalField("sjje", "实缴金额 in yuan, e.g. 12,345.60", "amount_cents", p.yuan),
        LocalField("rksj", "入库时间 as 2024/3/5 14:22:10 (Beijing time)", "paid_at", p.timestamp),
        LocalField("kjrq", "开具日期 as 2024/3/6", "issued_on", p.date),
    ]
    route = route_identifier("nsrsbh", "taxpayer_kind", {"ORGANISATION": ("taxpayer_uscc", p.code),
                                                         "INDIVIDUAL": ("taxpayer_resident_id", p.resident_id)})
    return MappedDialect("shandong-jin3-v1", item, "Shandong Golden Tax III extract, version 1 (山东金税三期)",
                         fields, route)


def jiangsu_etax_v2(item: DataItem) -> MappedDialect:
    fields = [
        LocalField("pzxh", "凭证序号 (certificate number)", "certificate_number", p.code),
        LocalField("nsrlb", "纳税人类别: 单位 / 个人", "taxpayer_kind",
                   p.mapped(codes.TAXPAYER_KIND_LABELS, "taxpayer kind")),
        LocalField("nsrmc", "纳税人名称", "taxpayer_name", p.text),
        LocalField("tyshxydm", "统一社会信用代码 of an organisation", "taxpayer_uscc", p.code),
        LocalField("sfzjhm", "身份证件号码 of an individual, 18 or legacy 15 digits", "taxpayer_resident_id",
                   p.resident_id),
        LocalField("zgswjg", "主管税务机关 (tax authority)", "tax_authority", p.text),
        LocalField("zgswjgdm", "主管税务机关代码: 1 + division code + 4 digits"),
        LocalField("zsxmmc", "征收项目名称 (tax item), e.g. 增值税", "tax_type",
                   p.mapped(codes.TAX_TYPE_LABELS, "tax item")),
        LocalField("ssqq", "所属期起 as 2017年5月1日", "period_start", p.date),
        LocalField("ssqz", "所属期止 as 2017年5月31日", "period_end", p.date),
        LocalField("je", "金额 as ¥12,345.60元", "amount_cents", p.yuan),
        LocalField("rkrq", "入库日期时间 as YYYYMMDDHHMMSS (Beijing time)", "paid_at", p.timestamp),
        LocalField("tprq", "填票日期 as YYYYMMDD", "issued_on", p.date),
    ]
    return MappedDialect("jiangsu-etax-v2", item, "Jiangsu electronic tax bureau export, version 2 (江苏电子税务局)",
                         fields, division_from_authority_code("zgswjgdm"))
