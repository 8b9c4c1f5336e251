"""Enterprise registration (企业登记信息), owned by market regulation."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import Field, model_validator

from schemas.catalogue.models.base import CatalogueRecord, require_order
from schemas.catalogue.types import Cents, DivisionCode, Text, Uscc


class EnterpriseStatus(StrEnum):
    ESTABLISHED = "ESTABLISHED"  # 设立
    CHANGED = "CHANGED"  # 变更
    REVOKED = "REVOKED"  # 吊销营业执照
    CANCELLED = "CANCELLED"  # 注销


class EnterpriseType(StrEnum):
    LIMITED_LIABILITY_COMPANY = "LIMITED_LIABILITY_COMPANY"  # 有限责任公司
    JOINT_STOCK_COMPANY = "JOINT_STOCK_COMPANY"  # 股份有限公司
    SOLE_PROPRIETORSHIP = "SOLE_PROPRIETORSHIP"  # 个人独资企业
    PARTNERSHIP = "PARTNERSHIP"  # 合伙企业
    STATE_OWNED = "STATE_OWNED"  # 全民所有制企业
    COLLECTIVE = "COLLECTIVE"  # 集体所有制企业
    BRANCH = "BRANCH"  # 分支机构
    OTHER = "OTHER"


class EnterpriseRegistration(CatalogueRecord):
    """Registration of an enterprise, and its status changes."""

    uscc: Uscc = Field(description="unified social credit code (GB 32100)")
    name: Text = Field(description="registered enterprise name")
    legal_representative: Text = Field(description="name of the legal representative (personal)")
    division_code: DivisionCode = Field(description="division code of the registering authority")
    registered_capital_cents: Cents = Field(description="registered capital in fen")
    established_on: dt.date = Field(description="date of establishment")
    status: EnterpriseStatus = Field(description="registration status")
    address: Text = Field(description="registered address (住所)")
    enterprise_type: EnterpriseType | None = Field(default=None, description="type of enterprise")
    registration_authority: Text | None = Field(default=None, description="registration authority (登记机关)")
    business_scope: Text | None = Field(default=None, description="business scope (经营范围)")
    status_changed_on: dt.date | None = Field(default=None, description="date of the last status change")

    @model_validator(mode="after")
    def _dates_in_order(self) -> EnterpriseRegistration:
        require_order(self, "established_on", "status_changed_on")
        return self
