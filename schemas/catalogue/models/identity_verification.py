"""Identity verification of a natural person (居民身份证信息核验), owned by public security."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import Field, model_validator

from schemas.catalogue.models.base import CatalogueRecord, require_order
from schemas.catalogue.types import DivisionCode, ResidentId, Text, Timestamp, field_error


class Gender(StrEnum):
    MALE = "MALE"
    FEMALE = "FEMALE"


class CardStatus(StrEnum):
    VALID = "VALID"
    EXPIRED = "EXPIRED"
    REPORTED_LOST = "REPORTED_LOST"  # 挂失
    CANCELLED = "CANCELLED"  # 注销


class IdentityVerification(CatalogueRecord):
    """Identity information of one natural person, as the population database holds it."""

    resident_id: ResidentId = Field(description="resident identity number (GB 11643)")
    name: Text = Field(description="name as printed on the card")
    gender: Gender = Field(description="gender; agrees with the identity number's sequence parity")
    ethnicity: Text = Field(description="ethnic group (民族)")
    birth_date: dt.date = Field(description="date of birth; agrees with the identity number")
    household_address: Text = Field(description="address of household registration (户籍地址)")
    division_code: DivisionCode = Field(description="division code of the place of household registration")
    issuing_authority: Text = Field(description="issuing public security organ (签发机关)")
    valid_from: dt.date = Field(description="first day the card is valid")
    valid_until: dt.date | None = Field(default=None, description="last day valid; null for a long-term card")
    card_status: CardStatus = Field(description="status of the card")
    verified_at: Timestamp = Field(description="when the population database last confirmed the record")

    @model_validator(mode="after")
    def _agrees_with_identity_number(self) -> IdentityVerification:
        embedded = self.resident_id[6:14]
        if self.birth_date.strftime("%Y%m%d") != embedded:
            raise field_error("resident_id.birth_date_mismatch",
                              f"{self.birth_date.isoformat()} differs from {embedded} in the identity number",
                              field="birth_date")
        expected = Gender.MALE if int(self.resident_id[16]) % 2 else Gender.FEMALE
        if self.gender != expected:
            raise field_error("resident_id.gender_mismatch",
                              f"is {self.gender} but the identity number says {expected.value}", field="gender")
        require_order(self, "valid_from", "valid_until")
        return self
