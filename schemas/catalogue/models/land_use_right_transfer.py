"""State-owned land-use-right transfer (国有建设用地使用权出让结果), owned by natural resources."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import Field, model_validator

from schemas.catalogue.models.base import CatalogueRecord, require_not_above
from schemas.catalogue.types import AreaDm2, Cents, DivisionCode, Text, Timestamp, Uscc


class LandUse(StrEnum):
    RESIDENTIAL = "RESIDENTIAL"  # 住宅用地
    COMMERCIAL = "COMMERCIAL"  # 商服用地
    INDUSTRIAL = "INDUSTRIAL"  # 工业用地
    MIXED = "MIXED"  # 混合用地
    PUBLIC_SERVICE = "PUBLIC_SERVICE"  # 公共管理与公共服务用地
    STORAGE = "STORAGE"  # 仓储用地
    OTHER = "OTHER"


class TransferMethod(StrEnum):
    TENDER = "TENDER"  # 招标
    AUCTION = "AUCTION"  # 拍卖
    LISTING = "LISTING"  # 挂牌
    AGREEMENT = "AGREEMENT"  # 协议


class LandUseRightTransfer(CatalogueRecord):
    """The transfer of one state-owned construction land-use right."""

    contract_number: Text = Field(description="transfer contract number")
    parcel_number: Text = Field(description="parcel number in the announcement")
    division_code: DivisionCode = Field(description="division code where the parcel lies")
    location: Text = Field(description="location of the parcel")
    land_area_dm2: AreaDm2 = Field(description="parcel area in square decimetres")
    land_use: LandUse = Field(description="planned use")
    term_years: int = Field(ge=1, le=70, description="term of the right in years")
    transfer_method: TransferMethod = Field(description="tender, auction, listing or agreement")
    starting_price_cents: Cents = Field(description="starting price, in fen")
    transaction_price_cents: Cents = Field(description="transaction price, in fen")
    assignee_name: Text = Field(description="assignee (受让人)")
    assignee_uscc: Uscc = Field(description="credit code of the assignee")
    signed_on: dt.date = Field(description="date the contract was signed")
    announced_at: Timestamp = Field(description="when the result was announced")

    @model_validator(mode="after")
    def _consistent(self) -> LandUseRightTransfer:
        require_not_above(self, "starting_price_cents", "transaction_price_cents")
        return self
