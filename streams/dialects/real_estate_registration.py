"""Real-estate registration (不动产登记信息) in two provincial natural-resources dialects.

``guangdong-bdc-v1``: a registration system with the field names of the real-estate registration
database standard (``bdcqzh``, ``bdcdyh``, ``zl``, ``qllx``, ``qlr``): kind of right, nature, holder
kind, co-ownership and status as codes (``4``, ``102``, ``1``, ``0``, ``1``), areas in square
metres (``120.50``), the unit number as printed on the certificate, with spaces
(``440305 004003 GB00012 F00010001``), no division code (derived from the unit number), one
certificate-number field (证件号) holding the holder's identity number or credit code, dates as
``2017/5/18``, and mortgages and seizures as a list of records with the secured amount in
ten-thousand yuan (万元).

``sichuan-bdc-v2``: an older system with upper-case columns and Chinese labels for every code
(``国有建设用地使用权/房屋所有权``, ``出让``, ``单独所有``, ``现势``), areas with their unit
(``120.50平方米``, ``89.75㎡``), dates as ``2017年5月18日``, and the encumbrances (他项权利) in one
text field: ``kind|holder|registered|amount in yuan|ends;...`` (``抵押|中国建设银行|20180301|1200000.00|20380301``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from govbus.exceptions import ValidationError
from schemas.catalogue import DataItem
from streams.dialects import codes
from streams.dialects import parsers as p
from streams.dialects.mapped import NULLABLE_STRING, Hook, LocalField, MappedDialect, hooks, records, route_identifier
from streams.dialects.model import FixKind
from streams.dialects.parsers import FixLog

OWNER_IDS = {"NATURAL_PERSON": ("owner_resident_id", p.resident_id), "ORGANISATION": ("owner_uscc", p.code)}


def division_from_unit_number(raw: Mapping[str, Any], canonical: dict[str, Any], log: FixLog) -> None:
    """The parcel's division code is the first six characters of the unit number (不动产单元号)."""
    unit = canonical.get("unit_number")
    if isinstance(unit, str) and "division_code" not in canonical:
        log.add("division_code", FixKind.DERIVED, unit, unit[:6])
        canonical["division_code"] = unit[:6]


_GUANGDONG_ENCUMBRANCE = [
    LocalField("qllx", "他项权利类型: 抵押, 查封, 地役权, 异议登记, 预告登记, 居住权", "kind",
               p.mapped(codes.ENCUMBRANCE_LABELS, "kind of encumbrance")),
    LocalField("qlr", "他项权利人 (mortgagee, sealing authority, ...)", "holder", p.text),
    LocalField("djrq", "登记日期 as 2018/3/1", "registered_on", p.date),
    LocalField("bdbzzqse", "被担保主债权数额 (secured amount) in ten-thousand yuan (万元)", "secured_amount_cents",
               p.wan_yuan),
    LocalField("jsrq", "结束日期 as 2038/3/1", "ends_on", p.date),
]
_ENCUMBRANCE_ARRAY = ["null", {"type": "array", "items": {
    "type": "record", "name": "Dyxx", "doc": "一条他项权利 (one encumbrance)",
    "fields": [f.avro() for f in _GUANGDONG_ENCUMBRANCE]}}]


def guangdong_bdc_v1(item: DataItem) -> MappedDialect:
    fields = [
        LocalField("bdcqzh", "不动产权证书号 (title certificate number)", "certificate_number", p.text),
        LocalField("bdcdyh", "不动产单元号 as printed, with spaces", "unit_number", p.code),
        LocalField("zl", "坐落 (location)", "location", p.text),
        LocalField("qllx", "权利类型代码 (TD/T 1066), e.g. 4", "right_type",
                   p.mapped(codes.RIGHT_TYPE_CODES, "kind-of-right code")),
        LocalField("qlxz", "权利性质代码: 101 划拨, 102 出让, 103 作价出资, 104 租赁, 200 集体土地", "right_nature",
                   p.mapped(codes.RIGHT_NATURE_CODES, "right nature code")),
        LocalField("yt", "用途 (registered use)", "usage", p.text),
        LocalField("zdmj", "宗地面积 (parcel area) in square metres", "land_area_dm2", p.square_metres),
        LocalField("jzmj", "建筑面积 (floor area) in square metres", "floor_area_dm2", p.square_metres),
        LocalField("qlrlx", "权利人类型: 1 个人, 2 企业, 3 事业单位, 4 国家机关", "owner_kind",
                   p.mapped(codes.OWNER_KIND_CODES, "holder kind code")),
        LocalField("qlr", "权利人 (right holder)", "owner_name", p.text),
        LocalField("zjh", "证件号: identity number of a person or credit code of an organisation"),
        LocalField("gyfs", "共有方式: 0 单独所有, 1 共同共有, 2 按份共有", "co_ownership",
                   p.mapped(codes.CO_OWNERSHIP_CODES, "co-ownership code")),
        LocalField("tdsyjsrq", "土地使用结束日期 as 2087/6/30", "land_use_ends_on", p.date),
        LocalField("dbsj", "登簿时间 (registered) as 2017/5/18", "registered_on", p.date),
        LocalField("dyxx", "他项权利 (encumbrances) as records", "encumbrances", records(_GUANGDONG_ENCUMBRANCE),
                   avro_type=_ENCUMBRANCE_ARRAY),
        LocalField("qszt", "权属状态: 1 现势, 2 历史", "status",
                   p.mapped(codes.REGISTRATION_STATUS_CODES, "status code")),
    ]
    return MappedDialect("guangdong-bdc-v1", item, "Guangdong real-estate registration system, version 1 (广东不动产)",
                         fields, hooks(division_from_unit_number, route_identifier("zjh", "owner_kind", OWNER_IDS)))


_SICHUAN_ENCUMBRANCE = [
    LocalField("kind", "kind label", "kind", p.mapped(codes.ENCUMBRANCE_LABELS, "kind of encumbrance")),
    LocalField("holder", "holder", "holder", p.text),
    LocalField("registered_on", "registered, YYYYMMDD", "registered_on", p.date),
    LocalField("secured_amount_cents", "secured amount in yuan", "secured_amount_cents", p.yuan),
    LocalField("ends_on", "ends, YYYYMMDD", "ends_on", p.date),
]
_ENCUMBRANCE_PARTS = [f.name for f in _SICHUAN_ENCUMBRANCE]
_SICHUAN_RECORDS = records(_SICHUAN_ENCUMBRANCE)


def encumbrance_text(value: Any, field: str, log: FixLog) -> list[dict[str, Any]] | None:
    """``kind|holder|registered|amount|ends;...`` as encumbrance records (empty parts are null)."""
    text = str(value).strip()
    if not text:
        return []
    rows = [row.split("|") for row in text.split(";") if row.strip()]
    for index, row in enumerate(rows):
        if len(row) != len(_ENCUMBRANCE_PARTS):
            raise ValidationError(f"{field}.{index}", "encumbrance_text.format",
                                  f"{';'.join('|'.join(r) for r in rows)!r}: entry {index + 1} has {len(row)} parts, "
                                  f"expected {len(_ENCUMBRANCE_PARTS)} (kind|holder|registered|amount|ends)")
    log.add(field, FixKind.SPLIT, value, json.dumps(rows, ensure_ascii=False))
    parsed = [{name: part.strip() or None for name, part in zip(_ENCUMBRANCE_PARTS, row, strict=True)}
              for row in rows]
    result: list[dict[str, Any]] = _SICHUAN_RECORDS(parsed, field, log)
    return result


def sichuan_bdc_v2(item: DataItem) -> MappedDialect:
    fields = [
        LocalField("ZSH", "证书号 (title certificate number)", "certificate_number", p.text),
        LocalField("BDCDYH", "不动产单元号", "unit_number", p.code),
        LocalField("XZQDM", "行政区代码 of the parcel", "division_code", p.code),
        LocalField("ZL", "坐落", "location", p.text),
        LocalField("QLLXMC", "权利类型名称, e.g. 国有建设用地使用权/房屋所有权", "right_type",
                   p.mapped(codes.RIGHT_TYPE_LABELS, "kind of right")),
        LocalField("QLXZMC", "权利性质名称: 出让, 划拨, 集体土地, 其他", "right_nature",
                   p.mapped(codes.RIGHT_NATURE_LABELS, "right nature")),
        LocalField("YT", "用途", "usage", p.text),
        LocalField("TDMJ", "土地面积 with its unit, e.g. 120.50平方米", "land_area_dm2", p.square_metres),
        LocalField("FWMJ", "房屋面积 with its unit, e.g. 89.75㎡", "floor_area_dm2", p.square_metres),
        LocalField("QLRLB", "权利人类别: 自然人 / 法人", "owner_kind",
                   p.mapped(codes.OWNER_KIND_LABELS, "holder kind")),
        LocalField("QLRMC", "权利人名称", "owner_name", p.text),
        LocalField("QLRZJHM", "权利人证件号码 (identity number or credit code)"),
        LocalField("GYQK", "共有情况: 单独所有, 共同共有, 按份共有", "co_ownership",
                   p.mapped(codes.CO_OWNERSHIP_LABELS, "co-ownership")),
        LocalField("SYQZZRQ", "使用权终止日期, e.g. 2087年6月30日", "land_use_ends_on", p.date),
        LocalField("DJRQ", "登记日期, e.g. 2017年5月18日", "registered_on", p.date),
        LocalField("TXQLXX", "他项权利信息: kind|holder|YYYYMMDD|amount in yuan|YYYYMMDD;...", "encumbrances",
                   encumbrance_text, avro_type=NULLABLE_STRING),
        LocalField("ZT", "状态: 现势, 注销", "status", p.mapped(codes.REGISTRATION_STATUS_LABELS, "status")),
    ]
    route: Hook = route_identifier("QLRZJHM", "owner_kind", OWNER_IDS)
    return MappedDialect("sichuan-bdc-v2", item, "Sichuan real-estate registration system, version 2 (四川不动产)",
                         fields, route)
