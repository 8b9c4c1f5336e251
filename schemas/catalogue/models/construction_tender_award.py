"""Construction tender award (工程建设项目中标结果), owned by housing and construction."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import Field, model_validator

from schemas.catalogue.models.base import CatalogueRecord
from schemas.catalogue.types import AvroInt, Cents, DivisionCode, Text, Timestamp, Uscc, field_error


class TenderMethod(StrEnum):
    PUBLIC = "PUBLIC"  # 公开招标
    INVITED = "INVITED"  # 邀请招标


class ConstructionTenderAward(CatalogueRecord):
    """The award of one section of an engineering construction tender."""

    tender_project_number: Text = Field(description="tender project number")
    section_number: Text = Field(description="section number within the project (标段)")
    project_name: Text = Field(description="name of the construction project")
    tenderee_name: Text = Field(description="tenderee (招标人)")
    tenderee_uscc: Uscc = Field(description="credit code of the tenderee")
    agency_name: Text | None = Field(default=None, description="tendering agency, if any")
    agency_uscc: Uscc | None = Field(default=None, description="credit code of the agency, if any")
    tender_method: TenderMethod = Field(description="public or invited tender")
    winning_bidder_name: Text = Field(description="winning bidder (中标人)")
    winning_bidder_uscc: Uscc = Field(description="credit code of the winning bidder")
    project_manager_name: Text = Field(description="project manager of the winning bidder (personal)")
    bid_amount_cents: Cents = Field(description="winning bid, in fen")
    duration_days: AvroInt = Field(ge=1, description="construction period in calendar days")
    division_code: DivisionCode = Field(description="division code where the project is built")
    awarded_on: dt.date = Field(description="date the award was decided")
    announced_at: Timestamp = Field(description="when the award was announced")

    @model_validator(mode="after")
    def _consistent(self) -> ConstructionTenderAward:
        if (self.agency_name is None) != (self.agency_uscc is None):
            raise field_error("agency.incomplete", "agency_name and agency_uscc are both set or both null",
                              field="agency_uscc")
        return self
