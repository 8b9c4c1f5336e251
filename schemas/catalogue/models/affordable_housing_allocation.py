"""Affordable-housing allocation (保障性住房分配结果), owned by housing and construction."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import Field, model_validator

from schemas.catalogue.models.base import CatalogueRecord
from schemas.catalogue.types import AreaDm2, AvroInt, Cents, DivisionCode, ResidentId, Text, field_error


class HousingKind(StrEnum):
    PUBLIC_RENTAL = "PUBLIC_RENTAL"  # 公共租赁住房
    AFFORDABLE_RENTAL = "AFFORDABLE_RENTAL"  # 保障性租赁住房
    SHARED_OWNERSHIP = "SHARED_OWNERSHIP"  # 共有产权住房
    ALLOCATED_SALE = "ALLOCATED_SALE"  # 配售型保障性住房


class AllocationStatus(StrEnum):
    ALLOCATED = "ALLOCATED"
    CANCELLED = "CANCELLED"  # 取消资格
    RETURNED = "RETURNED"  # 退出 / 腾退


_RENTAL = {HousingKind.PUBLIC_RENTAL, HousingKind.AFFORDABLE_RENTAL}


class AffordableHousingAllocation(CatalogueRecord):
    """The allocation of one affordable-housing unit to a household."""

    allocation_number: Text = Field(description="number of the allocation decision")
    housing_kind: HousingKind = Field(description="kind of affordable housing")
    applicant_name: Text = Field(description="name of the applicant (personal)")
    applicant_resident_id: ResidentId = Field(description="identity number of the applicant (personal)")
    household_size: int = Field(ge=1, le=30, description="members of the household")
    project_name: Text = Field(description="housing project")
    division_code: DivisionCode = Field(description="division code where the project lies")
    unit_address: Text = Field(description="address of the allocated unit (personal)")
    floor_area_dm2: AreaDm2 = Field(description="floor area in square decimetres")
    monthly_rent_cents: Cents | None = Field(default=None, description="monthly rent in fen, for rental housing")
    lottery_number: AvroInt | None = Field(default=None, ge=1, description="sequence number drawn in the lottery")
    allocated_on: dt.date = Field(description="date of the allocation decision")
    status: AllocationStatus = Field(description="allocated, cancelled or returned")

    @model_validator(mode="after")
    def _rent_only_for_rentals(self) -> AffordableHousingAllocation:
        rental = self.housing_kind in _RENTAL
        if rental and self.monthly_rent_cents is None:
            raise field_error("rent.required", f"is required for {self.housing_kind} housing",
                              field="monthly_rent_cents")
        if not rental and self.monthly_rent_cents is not None:
            raise field_error("rent.unexpected", f"must be null for {self.housing_kind} housing",
                              field="monthly_rent_cents")
        return self
