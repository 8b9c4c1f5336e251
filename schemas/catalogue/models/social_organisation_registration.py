"""Social organisation registration (社会组织登记信息), owned by civil affairs."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import Field, model_validator

from schemas.catalogue.models.base import CatalogueRecord, require_order
from schemas.catalogue.types import Cents, DivisionCode, Text, Uscc


class SocialOrganisationType(StrEnum):
    SOCIAL_GROUP = "SOCIAL_GROUP"  # 社会团体
    SOCIAL_SERVICE_ORGANISATION = "SOCIAL_SERVICE_ORGANISATION"  # 民办非企业单位 / 社会服务机构
    FOUNDATION = "FOUNDATION"  # 基金会


class SocialOrganisationStatus(StrEnum):
    REGISTERED = "REGISTERED"
    CHANGED = "CHANGED"
    REVOKED = "REVOKED"
    CANCELLED = "CANCELLED"


class SocialOrganisationRegistration(CatalogueRecord):
    """Registration of one social organisation, and its status changes."""

    uscc: Uscc = Field(description="unified social credit code (GB 32100)")
    name: Text = Field(description="registered name")
    organisation_type: SocialOrganisationType = Field(description="kind of social organisation")
    legal_representative: Text = Field(description="name of the legal representative (personal)")
    registration_authority: Text = Field(description="registering civil affairs department")
    division_code: DivisionCode = Field(description="division code of the registration authority")
    supervising_unit: Text | None = Field(default=None, description="supervising unit, if any (业务主管单位)")
    business_scope: Text = Field(description="business scope (业务范围)")
    startup_capital_cents: Cents = Field(description="registered or start-up capital in fen")
    registered_on: dt.date = Field(description="date of registration")
    status: SocialOrganisationStatus = Field(description="registration status")
    status_changed_on: dt.date | None = Field(default=None, description="date of the last status change")
    address: Text = Field(description="registered domicile (住所)")
    certificate_valid_until: dt.date | None = Field(default=None, description="last day the certificate is valid")

    @model_validator(mode="after")
    def _dates_in_order(self) -> SocialOrganisationRegistration:
        require_order(self, "registered_on", "status_changed_on")
        require_order(self, "registered_on", "certificate_valid_until")
        return self
