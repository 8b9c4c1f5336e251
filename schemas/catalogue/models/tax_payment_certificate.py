"""Tax payment certificate (税收完税证明), owned by taxation."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import Field, model_validator

from schemas.catalogue.models.base import CatalogueRecord, require_identifier_for_kind, require_order
from schemas.catalogue.types import Cents, DivisionCode, ResidentId, Text, Timestamp, Uscc


class TaxpayerKind(StrEnum):
    ORGANISATION = "ORGANISATION"
    INDIVIDUAL = "INDIVIDUAL"


class TaxType(StrEnum):
    VALUE_ADDED_TAX = "VALUE_ADDED_TAX"  # 增值税
    CONSUMPTION_TAX = "CONSUMPTION_TAX"  # 消费税
    ENTERPRISE_INCOME_TAX = "ENTERPRISE_INCOME_TAX"  # 企业所得税
    INDIVIDUAL_INCOME_TAX = "INDIVIDUAL_INCOME_TAX"  # 个人所得税
    DEED_TAX = "DEED_TAX"  # 契税
    PROPERTY_TAX = "PROPERTY_TAX"  # 房产税
    URBAN_LAND_USE_TAX = "URBAN_LAND_USE_TAX"  # 城镇土地使用税
    LAND_VALUE_INCREMENT_TAX = "LAND_VALUE_INCREMENT_TAX"  # 土地增值税
    STAMP_DUTY = "STAMP_DUTY"  # 印花税
    VEHICLE_PURCHASE_TAX = "VEHICLE_PURCHASE_TAX"  # 车辆购置税
    RESOURCE_TAX = "RESOURCE_TAX"  # 资源税
    OTHER = "OTHER"


class TaxPaymentCertificate(CatalogueRecord):
    """One tax payment certificate."""

    certificate_number: Text = Field(description="certificate number, unique nationwide")
    taxpayer_kind: TaxpayerKind = Field(description="organisation or individual taxpayer")
    taxpayer_name: Text = Field(description="name of the taxpayer (personal for individuals)")
    taxpayer_uscc: Uscc | None = Field(default=None, description="credit code of an organisation taxpayer")
    taxpayer_resident_id: ResidentId | None = Field(default=None, description="identity number of an individual")
    tax_authority: Text = Field(description="issuing tax authority")
    tax_authority_division_code: DivisionCode = Field(description="division code of the issuing tax authority")
    tax_type: TaxType = Field(description="kind of tax paid (税种)")
    period_start: dt.date = Field(description="first day of the tax period")
    period_end: dt.date = Field(description="last day of the tax period")
    amount_cents: Cents = Field(description="tax paid, in fen")
    paid_at: Timestamp = Field(description="when the tax was paid into the treasury")
    issued_on: dt.date = Field(description="date the certificate was issued")

    @model_validator(mode="after")
    def _consistent(self) -> TaxPaymentCertificate:
        require_identifier_for_kind(self, "taxpayer_kind", {TaxpayerKind.ORGANISATION: "taxpayer_uscc",
                                                            TaxpayerKind.INDIVIDUAL: "taxpayer_resident_id"})
        require_order(self, "period_start", "period_end")
        return self
