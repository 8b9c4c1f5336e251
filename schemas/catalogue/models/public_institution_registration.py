"""Public institution registration (事业单位登记信息), owned by the public-sector reform office."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import Field, model_validator

from schemas.catalogue.models.base import CatalogueRecord, require_order
from schemas.catalogue.types import Cents, DivisionCode, Text, Uscc


class FundingSource(StrEnum):
    FULL_FINANCIAL_ALLOCATION = "FULL_FINANCIAL_ALLOCATION"  # 财政全额拨款
    PARTIAL_FINANCIAL_ALLOCATION = "PARTIAL_FINANCIAL_ALLOCATION"  # 财政差额拨款
    SELF_FUNDED = "SELF_FUNDED"  # 自收自支


class PublicInstitutionStatus(StrEnum):
    ESTABLISHED = "ESTABLISHED"
    CHANGED = "CHANGED"
    CANCELLED = "CANCELLED"


class PublicInstitutionRegistration(CatalogueRecord):
    """Registration of one public institution, and its status changes."""

    uscc: Uscc = Field(description="unified social credit code (GB 32100)")
    name: Text = Field(description="registered name")
    legal_representative: Text = Field(description="name of the legal representative (personal)")
    sponsor_unit: Text = Field(description="sponsoring unit (举办单位)")
    funding_source: FundingSource = Field(description="source of funds (经费来源)")
    purpose_and_scope: Text = Field(description="purpose and business scope (宗旨和业务范围)")
    startup_capital_cents: Cents = Field(description="start-up capital in fen")
    registration_authority: Text = Field(description="registration authority")
    division_code: DivisionCode = Field(description="division code of the registration authority")
    address: Text = Field(description="registered domicile (住所)")
    certificate_valid_from: dt.date = Field(description="first day the legal person certificate is valid")
    certificate_valid_until: dt.date = Field(description="last day the legal person certificate is valid")
    status: PublicInstitutionStatus = Field(description="registration status")
    status_changed_on: dt.date | None = Field(default=None, description="date of the last status change")

    @model_validator(mode="after")
    def _dates_in_order(self) -> PublicInstitutionRegistration:
        require_order(self, "certificate_valid_from", "certificate_valid_until")
        return self
