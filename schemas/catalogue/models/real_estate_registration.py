"""Real-estate registration (不动产登记信息), owned by natural resources."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from schemas.catalogue.models.base import CatalogueRecord, require_identifier_for_kind, require_order
from schemas.catalogue.types import AreaDm2, Cents, DivisionCode, ResidentId, Text, Uscc, field_error

UnitNumber = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True,
                                              pattern=r"^[0-9]{12}[A-Z]{2}[0-9]{5}[A-Z][0-9]{8}$")]
"""不动产单元号: division (6) + cadastral zone and sub-zone (6) + parcel (2 letters, 5 digits)
+ fixture (1 letter, 8 digits)."""


class RealEstateRightType(StrEnum):
    STATE_LAND_USE_AND_HOUSE_OWNERSHIP = "STATE_LAND_USE_AND_HOUSE_OWNERSHIP"  # 国有建设用地使用权/房屋所有权
    STATE_LAND_USE = "STATE_LAND_USE"  # 国有建设用地使用权
    HOMESTEAD_USE_AND_HOUSE_OWNERSHIP = "HOMESTEAD_USE_AND_HOUSE_OWNERSHIP"  # 宅基地使用权/房屋所有权
    COLLECTIVE_LAND_USE = "COLLECTIVE_LAND_USE"  # 集体建设用地使用权
    FOREST_RIGHT = "FOREST_RIGHT"  # 林权
    SEA_AREA_USE = "SEA_AREA_USE"  # 海域使用权


class RightNature(StrEnum):
    GRANTED = "GRANTED"  # 出让
    ALLOCATED = "ALLOCATED"  # 划拨
    COLLECTIVE = "COLLECTIVE"  # 集体土地
    OTHER = "OTHER"


class OwnerKind(StrEnum):
    NATURAL_PERSON = "NATURAL_PERSON"
    ORGANISATION = "ORGANISATION"


class CoOwnership(StrEnum):
    SOLE = "SOLE"  # 单独所有
    JOINT = "JOINT"  # 共同共有
    SHARED = "SHARED"  # 按份共有


class EncumbranceKind(StrEnum):
    MORTGAGE = "MORTGAGE"  # 抵押
    SEIZURE = "SEIZURE"  # 查封
    EASEMENT = "EASEMENT"  # 地役权
    OBJECTION = "OBJECTION"  # 异议登记
    ADVANCE_NOTICE = "ADVANCE_NOTICE"  # 预告登记
    RESIDENCE_RIGHT = "RESIDENCE_RIGHT"  # 居住权


class RegistrationStatus(StrEnum):
    VALID = "VALID"
    CANCELLED = "CANCELLED"


class Encumbrance(CatalogueRecord):
    """A registered restriction on a real-estate right."""

    kind: EncumbranceKind = Field(description="kind of encumbrance")
    holder: Text = Field(description="mortgagee, sealing authority or easement holder")
    registered_on: dt.date = Field(description="date the encumbrance was registered")
    secured_amount_cents: Cents | None = Field(default=None, description="amount a mortgage secures, in fen")
    ends_on: dt.date | None = Field(default=None, description="last day of the encumbrance")

    @model_validator(mode="after")
    def _dates_in_order(self) -> Encumbrance:
        require_order(self, "registered_on", "ends_on")
        return self


class RealEstateRegistration(CatalogueRecord):
    """One real-estate title registration."""

    certificate_number: Text = Field(description="title certificate number (不动产权证书号)")
    unit_number: UnitNumber = Field(description="real-estate unit number (不动产单元号), 28 characters")
    division_code: DivisionCode = Field(description="division code of the parcel")
    location: Text = Field(description="location of the property (坐落)")
    right_type: RealEstateRightType = Field(description="kind of right (权利类型)")
    right_nature: RightNature = Field(description="nature of the land right (权利性质)")
    usage: Text = Field(description="registered use (用途)")
    land_area_dm2: AreaDm2 = Field(description="parcel area in square decimetres")
    floor_area_dm2: AreaDm2 | None = Field(default=None, description="floor area in square decimetres")
    owner_kind: OwnerKind = Field(description="natural person or organisation")
    owner_name: Text = Field(description="name of the right holder (权利人)")
    owner_resident_id: ResidentId | None = Field(default=None, description="identity number of a natural person")
    owner_uscc: Uscc | None = Field(default=None, description="credit code of an organisation")
    co_ownership: CoOwnership = Field(description="how the right is held (共有情况)")
    land_use_ends_on: dt.date | None = Field(default=None, description="last day of the land-use term")
    registered_on: dt.date = Field(description="date of registration (登簿日期)")
    encumbrances: list[Encumbrance] = Field(default_factory=list, description="registered encumbrances")
    status: RegistrationStatus = Field(description="valid or cancelled")

    @model_validator(mode="after")
    def _consistent(self) -> RealEstateRegistration:
        if self.unit_number[:6] != self.division_code:
            raise field_error("unit_number.division_mismatch",
                              f"starts with {self.unit_number[:6]} but division_code is {self.division_code}",
                              field="unit_number")
        require_identifier_for_kind(self, "owner_kind", {OwnerKind.NATURAL_PERSON: "owner_resident_id",
                                                         OwnerKind.ORGANISATION: "owner_uscc"})
        require_order(self, "registered_on", "land_use_ends_on")
        return self
