"""Mining-right transfer (矿业权出让结果), owned by natural resources."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import Field, model_validator

from schemas.catalogue.models.base import CatalogueRecord, require_not_above, require_order
from schemas.catalogue.types import AreaDm2, Cents, DivisionCode, Text, Timestamp, Uscc


class MiningRightKind(StrEnum):
    EXPLORATION = "EXPLORATION"  # 探矿权
    MINING = "MINING"  # 采矿权


class TransferMethod(StrEnum):
    TENDER = "TENDER"  # 招标
    AUCTION = "AUCTION"  # 拍卖
    LISTING = "LISTING"  # 挂牌
    AGREEMENT = "AGREEMENT"  # 协议


class MiningRightTransfer(CatalogueRecord):
    """The transfer of one exploration or mining right."""

    project_number: Text = Field(description="transfer project number")
    right_kind: MiningRightKind = Field(description="exploration or mining right")
    mineral: Text = Field(description="main mineral")
    mine_name: Text = Field(description="exploration area or mine")
    division_code: DivisionCode = Field(description="division code where the area lies")
    area_dm2: AreaDm2 = Field(description="block area in square decimetres")
    transfer_method: TransferMethod = Field(description="tender, auction, listing or agreement")
    starting_price_cents: Cents = Field(description="starting price, in fen")
    transaction_price_cents: Cents = Field(description="transaction price, in fen")
    assignee_name: Text = Field(description="assignee (受让人)")
    assignee_uscc: Uscc = Field(description="credit code of the assignee")
    valid_from: dt.date = Field(description="first day of the term")
    valid_until: dt.date = Field(description="last day of the term")
    announced_at: Timestamp = Field(description="when the result was announced")

    @model_validator(mode="after")
    def _consistent(self) -> MiningRightTransfer:
        require_not_above(self, "starting_price_cents", "transaction_price_cents")
        require_order(self, "valid_from", "valid_until")
        return self
