"""Government procurement award (政府采购中标成交结果), owned by finance."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import Field, model_validator

from schemas.catalogue.models.base import CatalogueRecord, require_not_above
from schemas.catalogue.types import AvroInt, Cents, DivisionCode, Text, Timestamp, Uscc, field_error


class ProcurementMethod(StrEnum):
    PUBLIC_TENDER = "PUBLIC_TENDER"  # 公开招标
    INVITED_TENDER = "INVITED_TENDER"  # 邀请招标
    COMPETITIVE_NEGOTIATION = "COMPETITIVE_NEGOTIATION"  # 竞争性谈判
    COMPETITIVE_CONSULTATION = "COMPETITIVE_CONSULTATION"  # 竞争性磋商
    SINGLE_SOURCE = "SINGLE_SOURCE"  # 单一来源采购
    REQUEST_FOR_QUOTATION = "REQUEST_FOR_QUOTATION"  # 询价
    FRAMEWORK_AGREEMENT = "FRAMEWORK_AGREEMENT"  # 框架协议采购


class GovernmentProcurementAward(CatalogueRecord):
    """The award of one lot of a government procurement project."""

    project_number: Text = Field(description="procurement project number")
    lot_number: AvroInt = Field(ge=1, description="lot number within the project, from 1")
    project_name: Text = Field(description="name of the project")
    purchaser_name: Text = Field(description="purchaser (采购人)")
    purchaser_uscc: Uscc = Field(description="credit code of the purchaser")
    agency_name: Text | None = Field(default=None, description="procurement agency, if any")
    agency_uscc: Uscc | None = Field(default=None, description="credit code of the agency, if any")
    procurement_method: ProcurementMethod = Field(description="procurement method")
    supplier_name: Text = Field(description="winning supplier")
    supplier_uscc: Uscc = Field(description="credit code of the winning supplier")
    budget_cents: Cents = Field(description="budget of the lot, in fen")
    award_amount_cents: Cents = Field(description="awarded amount, in fen")
    division_code: DivisionCode = Field(description="division code of the purchaser's government level")
    awarded_on: dt.date = Field(description="date the award was decided")
    announced_at: Timestamp = Field(description="when the result was announced")

    @model_validator(mode="after")
    def _consistent(self) -> GovernmentProcurementAward:
        if (self.agency_name is None) != (self.agency_uscc is None):
            raise field_error("agency.incomplete", "agency_name and agency_uscc are both set or both null",
                              field="agency_uscc")
        require_not_above(self, "award_amount_cents", "budget_cents")
        return self
