"""State-owned property-right transaction (企业国有产权交易结果), owned by state-asset supervision."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import Field

from schemas.catalogue.models.base import CatalogueRecord
from schemas.catalogue.types import Cents, Text, Timestamp, Uscc


class PropertyTransactionMethod(StrEnum):
    AUCTION = "AUCTION"  # 拍卖
    TENDER = "TENDER"  # 招投标
    ONLINE_BIDDING = "ONLINE_BIDDING"  # 网络竞价
    COMPETITIVE_NEGOTIATION = "COMPETITIVE_NEGOTIATION"  # 竞争性谈判
    AGREEMENT = "AGREEMENT"  # 协议转让


class StatePropertyRightTransaction(CatalogueRecord):
    """One transaction of state-owned property rights in an enterprise."""

    project_number: Text = Field(description="project number at the exchange")
    exchange_name: Text = Field(description="property-rights exchange")
    target_name: Text = Field(description="target enterprise (标的企业)")
    target_uscc: Uscc = Field(description="credit code of the target enterprise")
    transferor_name: Text = Field(description="transferor (转让方)")
    transferor_uscc: Uscc = Field(description="credit code of the transferor")
    transferee_name: Text = Field(description="transferee (受让方)")
    transferee_uscc: Uscc = Field(description="credit code of the transferee")
    transferred_share_bp: int = Field(ge=1, le=10_000, description="share transferred, in basis points")
    listing_price_cents: Cents = Field(description="listing price, in fen")
    transaction_price_cents: Cents = Field(description="transaction price, in fen")
    transaction_method: PropertyTransactionMethod = Field(description="how the transaction was concluded")
    approved_by: Text = Field(description="body that approved the transfer")
    signed_on: dt.date = Field(description="date the contract was signed")
    announced_at: Timestamp = Field(description="when the result was announced")
