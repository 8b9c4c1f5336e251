"""Tax risk assessment (税收风险评估信息), owned by taxation; catalogued, not shared."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import Field

from schemas.catalogue.models.base import CatalogueRecord
from schemas.catalogue.types import Text, Uscc


class RiskLevel(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class TaxRiskAssessment(CatalogueRecord):
    """One internal risk assessment of an organisation taxpayer."""

    assessment_number: Text = Field(description="assessment number")
    taxpayer_uscc: Uscc = Field(description="credit code of the assessed taxpayer")
    tax_authority: Text = Field(description="assessing tax authority")
    risk_level: RiskLevel = Field(description="assessed risk level")
    indicators: list[Text] = Field(default_factory=list, description="codes of the risk indicators that fired")
    assessed_on: dt.date = Field(description="date of the assessment")
