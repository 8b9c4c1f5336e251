"""Enterprise registration (企业登记信息) in two provincial market-regulation dialects.

``zhejiang-aic-v2``: a former AIC (工商) register export. Pinyin-initial field names (``qymc``,
``tyshxydm``, ``fddbr``), dates as ``2017年5月18日``, registered capital in ten-thousand yuan
(万元) with up to six decimals, status and type as Chinese labels (``存续``, ``有限责任公司``),
names padded with spaces (``王　伟``), the legacy 15-digit registration number (注册号) beside
the unified social credit code, or instead of it for enterprises never re-issued one.

``guangdong-scjg-v1``: an Oracle-era market-regulation system. Upper-case column names
(``SHXYDM``, ``QYMC``), dates as ``20170518`` (status change as ``2017/5/18``), capital in yuan
as ``12,345,600.00``, numeric status and type codes, codes typed with full-width characters,
lower-case letters and spaces (``9144 0300 ma5f…``), the registration number beside the code.

The unified social credit code cannot be derived from a registration number (it embeds the
organisation code, which the registration number does not carry): a record with only a
registration number is refused as ``uscc`` / ``uscc.legacy_only``. Beside a credit code the
registration number is dropped, and the fix says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from govbus.exceptions import ValidationError
from schemas.catalogue import DataItem
from streams.dialects import codes
from streams.dialects import parsers as p
from streams.dialects.mapped import Hook, LocalField, MappedDialect
from streams.dialects.model import FixKind
from streams.dialects.parsers import FixLog


def registration_number(local: str) -> Hook:
    """The legacy registration number in field ``local``: dropped beside a credit code, refused alone."""

    def hook(raw: Mapping[str, Any], canonical: dict[str, Any], log: FixLog) -> None:
        value = raw.get(local)
        number = p.code(value, "uscc", FixLog()) if value is not None else None
        if number is None:
            return
        if "uscc" in canonical:
            log.add("uscc", FixKind.LEGACY_REGISTRATION_NUMBER, value, canonical["uscc"])
            return
        problem = p.registration_number_problem(number)
        state = f"not a valid registration number either ({problem})" if problem else "a valid registration number"
        raise ValidationError("uscc", "uscc.legacy_only",
                              f"is missing; only the legacy registration number {number} was sent ({state}). "
                              "A unified social credit code cannot be derived from it: the registration "
                              "authority must supply the code")

    return hook


def zhejiang_aic_v2(item: DataItem) -> MappedDialect:
    fields = [
        LocalField("tyshxydm", "统一社会信用代码 (unified social credit code)", "uscc", p.code),
        LocalField("zch", "注册号: legacy 15-digit registration number, beside or instead of the credit code"),
        LocalField("qymc", "企业名称 (enterprise name)", "name", p.text),
        LocalField("fddbr", "法定代表人 (legal representative), often padded with spaces", "legal_representative",
                   p.text),
        LocalField("djjgxzqh", "登记机关行政区划代码 (division code of the registering authority)", "division_code",
                   p.code),
        LocalField("zczb", "注册资本 (registered capital) in ten-thousand yuan (万元)", "registered_capital_cents",
                   p.wan_yuan),
        LocalField("clrq", "成立日期 (established), e.g. 2017年5月18日", "established_on", p.date),
        LocalField("djzt", "登记状态 (status) as a label: 存续, 变更, 吊销, 注销", "status",
                   p.mapped(codes.ENTERPRISE_STATUS_LABELS, "registration status")),
        LocalField("zs", "住所 (registered address)", "address", p.text),
        LocalField("qylx", "企业类型 (enterprise type) as a label, e.g. 有限责任公司", "enterprise_type",
                   p.mapped(codes.ENTERPRISE_TYPE_LABELS, "enterprise type")),
        LocalField("djjg", "登记机关 (registration authority)", "registration_authority", p.text),
        LocalField("jyfw", "经营范围 (business scope)", "business_scope", p.text),
        LocalField("hzrq", "核准日期 (date of the last status change), e.g. 2019年3月1日", "status_changed_on",
                   p.date),
    ]
    return MappedDialect("zhejiang-aic-v2", item, "Zhejiang AIC register export, version 2 (浙江工商登记库)",
                         fields, registration_number("zch"))


def guangdong_scjg_v1(item: DataItem) -> MappedDialect:
    fields = [
        LocalField("SHXYDM", "统一社会信用代码, often typed with spaces, lower case or full-width", "uscc", p.code),
        LocalField("ZCH", "注册号: legacy 15-digit registration number"),
        LocalField("QYMC", "企业名称", "name", p.text),
        LocalField("FRDB", "法定代表人", "legal_representative", p.text),
        LocalField("XZQHDM", "行政区划代码 of the registering authority", "division_code", p.code),
        LocalField("ZCZB", "注册资本 in yuan with decimals, e.g. 12,345,600.00", "registered_capital_cents", p.yuan),
        LocalField("CLRQ", "成立日期 as YYYYMMDD", "established_on", p.date),
        LocalField("DJZTDM", "登记状态代码: 1 存续, 2 变更, 3 吊销, 4 注销", "status",
                   p.mapped(codes.ENTERPRISE_STATUS_CODES, "registration status code")),
        LocalField("ZS", "住所", "address", p.text),
        LocalField("QYLXDM", "企业类型代码 (this system's four-digit codes)", "enterprise_type",
                   p.mapped(codes.ENTERPRISE_TYPE_CODES, "enterprise type code")),
        LocalField("DJJG", "登记机关", "registration_authority", p.text),
        LocalField("JYFW", "经营范围", "business_scope", p.text),
        LocalField("BGRQ", "变更日期 (last status change) as 2017/5/18", "status_changed_on", p.date),
    ]
    return MappedDialect("guangdong-scjg-v1", item, "Guangdong market regulation system, version 1 (广东市场监管)",
                         fields, registration_number("ZCH"))
