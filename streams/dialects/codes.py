"""Code tables local systems use, each mapping a local code or label to the canonical value.

Where a table follows a national standard it says so; the gender and ethnicity codes are the
published ones (GB/T 2261.1, GB/T 3304). The real-estate codes follow the code lists of the
real-estate registration database standard (TD/T 1066) as far as this module's author knows
them, and the enterprise-type and tax-item codes are *modelled on* the codes such systems use:
check them against the standard texts before relying on them outside the synthetic dialects.
Codes not in a table are refused (``code.unknown``), never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping

# -- persons --------------------------------------------------------------------------------

GENDER_CODES = {"1": "MALE", "2": "FEMALE"}
"""GB/T 2261.1 sex codes; 0 (unknown) and 9 (not stated) are refused: the card states a sex."""
GENDER_LABELS = {"男": "MALE", "女": "FEMALE"}

_ETHNIC_GROUPS = (
    "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家",
    "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇",
    "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米",
    "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙",
    "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
)
ETHNICITY_CODES = {f"{number:02d}": name for number, name in enumerate(_ETHNIC_GROUPS, start=1)}
"""GB/T 3304 codes (01 汉族 ... 56 基诺族) -> the name as printed on the identity card (``汉``)."""
ETHNICITY_LABELS = {f"{name}族": name for name in _ETHNIC_GROUPS}
"""Full names (``汉族``) -> the name as printed on the card (``汉``)."""
ETHNIC_GROUPS = _ETHNIC_GROUPS

LONG_TERM = {"长期": None}
"""A long-term identity card (长期) has no end of validity."""

CARD_STATUS_CODES = {"1": "VALID", "2": "EXPIRED", "3": "REPORTED_LOST", "4": "CANCELLED"}
CARD_STATUS_LABELS = {"正常": "VALID", "有效": "VALID", "过期": "EXPIRED", "挂失": "REPORTED_LOST", "注销": "CANCELLED"}

# -- enterprises ----------------------------------------------------------------------------

ENTERPRISE_STATUS_LABELS = {
    "存续": "ESTABLISHED", "在营": "ESTABLISHED", "在业": "ESTABLISHED", "开业": "ESTABLISHED", "设立": "ESTABLISHED",
    "变更": "CHANGED", "吊销": "REVOKED", "吊销，未注销": "REVOKED", "注销": "CANCELLED",
}
"""Registration status as register extracts word it (存续 = subsisting, i.e. established)."""
ENTERPRISE_STATUS_CODES = {"1": "ESTABLISHED", "2": "CHANGED", "3": "REVOKED", "4": "CANCELLED"}

ENTERPRISE_TYPE_LABELS = {
    "有限责任公司": "LIMITED_LIABILITY_COMPANY", "股份有限公司": "JOINT_STOCK_COMPANY",
    "个人独资企业": "SOLE_PROPRIETORSHIP", "合伙企业": "PARTNERSHIP", "全民所有制": "STATE_OWNED",
    "集体所有制": "COLLECTIVE", "分公司": "BRANCH", "其他": "OTHER",
}
ENTERPRISE_TYPE_CODES = {
    "1100": "LIMITED_LIABILITY_COMPANY", "1200": "JOINT_STOCK_COMPANY", "3100": "STATE_OWNED",
    "3200": "COLLECTIVE", "4100": "PARTNERSHIP", "4500": "SOLE_PROPRIETORSHIP", "5000": "BRANCH", "9900": "OTHER",
}
"""The Guangdong dialect's own four-digit enterprise-type codes (modelled on GS 15-style codes)."""

# -- taxation -------------------------------------------------------------------------------

TAXPAYER_KIND_CODES = {"1": "ORGANISATION", "2": "INDIVIDUAL"}
TAXPAYER_KIND_LABELS = {"单位": "ORGANISATION", "企业": "ORGANISATION", "个人": "INDIVIDUAL"}

TAX_TYPE_CODES = {
    "10101": "VALUE_ADDED_TAX", "10102": "CONSUMPTION_TAX", "10104": "ENTERPRISE_INCOME_TAX",
    "10106": "INDIVIDUAL_INCOME_TAX", "10107": "RESOURCE_TAX", "10110": "PROPERTY_TAX", "10111": "STAMP_DUTY",
    "10112": "URBAN_LAND_USE_TAX", "10113": "LAND_VALUE_INCREMENT_TAX", "10119": "DEED_TAX",
    "10120": "VEHICLE_PURCHASE_TAX", "10199": "OTHER",
}
"""Tax items (征收项目) by five-digit code, modelled on the Golden Tax III codes."""
TAX_TYPE_LABELS = {
    "增值税": "VALUE_ADDED_TAX", "消费税": "CONSUMPTION_TAX", "企业所得税": "ENTERPRISE_INCOME_TAX",
    "个人所得税": "INDIVIDUAL_INCOME_TAX", "契税": "DEED_TAX", "房产税": "PROPERTY_TAX",
    "城镇土地使用税": "URBAN_LAND_USE_TAX", "土地增值税": "LAND_VALUE_INCREMENT_TAX", "印花税": "STAMP_DUTY",
    "车辆购置税": "VEHICLE_PURCHASE_TAX", "资源税": "RESOURCE_TAX", "其他": "OTHER",
}

# -- real estate ----------------------------------------------------------------------------

RIGHT_TYPE_CODES = {
    "3": "STATE_LAND_USE", "4": "STATE_LAND_USE_AND_HOUSE_OWNERSHIP", "6": "HOMESTEAD_USE_AND_HOUSE_OWNERSHIP",
    "7": "COLLECTIVE_LAND_USE", "12": "FOREST_RIGHT", "15": "SEA_AREA_USE",
}
"""Kinds of right (权利类型) by their TD/T 1066 code."""
RIGHT_TYPE_LABELS = {
    "国有建设用地使用权": "STATE_LAND_USE", "国有建设用地使用权/房屋所有权": "STATE_LAND_USE_AND_HOUSE_OWNERSHIP",
    "宅基地使用权/房屋所有权": "HOMESTEAD_USE_AND_HOUSE_OWNERSHIP", "集体建设用地使用权": "COLLECTIVE_LAND_USE",
    "林权": "FOREST_RIGHT", "海域使用权": "SEA_AREA_USE",
}
RIGHT_NATURE_CODES = {"101": "ALLOCATED", "102": "GRANTED", "103": "OTHER", "104": "OTHER", "200": "COLLECTIVE"}
"""Nature of the land right (权利性质): 101 划拨, 102 出让, 103 作价出资, 104 租赁, 200 集体土地."""
RIGHT_NATURE_LABELS = {"出让": "GRANTED", "划拨": "ALLOCATED", "集体土地": "COLLECTIVE", "其他": "OTHER"}
OWNER_KIND_CODES = {"1": "NATURAL_PERSON", "2": "ORGANISATION", "3": "ORGANISATION", "4": "ORGANISATION"}
"""Kind of right holder (权利人类型): 1 个人, 2 企业, 3 事业单位, 4 国家机关."""
OWNER_KIND_LABELS = {"自然人": "NATURAL_PERSON", "个人": "NATURAL_PERSON", "法人": "ORGANISATION",
                     "单位": "ORGANISATION"}
CO_OWNERSHIP_CODES = {"0": "SOLE", "1": "JOINT", "2": "SHARED"}
"""How the right is held (共有方式): 0 单独所有, 1 共同共有, 2 按份共有."""
CO_OWNERSHIP_LABELS = {"单独所有": "SOLE", "共同共有": "JOINT", "按份共有": "SHARED"}
ENCUMBRANCE_LABELS = {"抵押": "MORTGAGE", "查封": "SEIZURE", "地役权": "EASEMENT", "异议登记": "OBJECTION",
                      "预告登记": "ADVANCE_NOTICE", "居住权": "RESIDENCE_RIGHT"}
REGISTRATION_STATUS_CODES = {"1": "VALID", "2": "CANCELLED"}
"""Status of the right (权属状态): 1 现势 (current), 2 历史 (historical)."""
REGISTRATION_STATUS_LABELS = {"现势": "VALID", "注销": "CANCELLED", "历史": "CANCELLED"}


def local_code(table: Mapping[str, str | None], canonical: str | None) -> str:
    """The first local code or label of ``table`` for ``canonical`` (what a generator sends)."""
    for local, value in table.items():
        if value == canonical:
            return local
    raise KeyError(f"no local code for {canonical!r}")
