"""Social insurance payment certificate (社会保险缴费证明), owned by human resources and social security.

Two cross-field rules come from the Social Insurance Law: a contribution without an employer is one a
flexibly employed person (灵活就业人员) pays alone, which the law allows for basic pension and basic medical
insurance only (arts. 10 and 23); and a month's contribution, the employer's and the person's shares
together, is a fraction of its contribution base, never more.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from schemas.catalogue.models.base import CatalogueRecord, require_not_above
from schemas.catalogue.types import Cents, DivisionCode, ResidentId, Text, Timestamp, Uscc, field_error

YearMonth = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
"""A month as ``YYYY-MM`` (费款所属期), ASCII digits only; anything else is refused as ``string_pattern_mismatch``."""


class InsuranceType(StrEnum):
    PENSION = "PENSION"  # 基本养老保险
    MEDICAL = "MEDICAL"  # 基本医疗保险
    UNEMPLOYMENT = "UNEMPLOYMENT"  # 失业保险
    WORK_INJURY = "WORK_INJURY"  # 工伤保险
    MATERNITY = "MATERNITY"  # 生育保险


WITHOUT_EMPLOYER = (InsuranceType.PENSION, InsuranceType.MEDICAL)
"""The insurance a flexibly employed person may pay alone (Social Insurance Law arts. 10 and 23)."""


class SocialInsurancePayment(CatalogueRecord):
    """One month's contribution to one kind of social insurance for one insured person."""

    certificate_number: Text = Field(description="certificate number, unique nationwide")
    insured_name: Text = Field(description="name of the insured person (personal)")
    insured_resident_id: ResidentId = Field(description="identity number of the insured person (personal)")
    insurance_type: InsuranceType = Field(description="kind of insurance paid (险种)")
    employer_name: Text | None = Field(default=None, description="employer that paid; null for a person paying alone")
    employer_uscc: Uscc | None = Field(default=None, description="credit code of the employer; null without one")
    insurance_agency: Text = Field(description="issuing social insurance agency")
    insurance_agency_division_code: DivisionCode = Field(description="division code of the issuing agency")
    period: YearMonth = Field(description="month the contribution is for, YYYY-MM")
    contribution_base_cents: Cents = Field(description="contribution base of the month, in fen")
    amount_cents: Cents = Field(description="contribution paid, both shares together, in fen")
    paid_at: Timestamp = Field(description="when the contribution was received")

    @model_validator(mode="after")
    def _consistent(self) -> SocialInsurancePayment:
        if (self.employer_name is None) != (self.employer_uscc is None):
            raise field_error("employer.incomplete", "employer_name and employer_uscc are both set or both null",
                              field="employer_uscc")
        if self.employer_uscc is None and self.insurance_type not in WITHOUT_EMPLOYER:
            raise field_error("employer.required", f"is required for {self.insurance_type} insurance: only "
                              "PENSION and MEDICAL may be paid without an employer (flexible employment)",
                              field="employer_uscc")
        require_not_above(self, "amount_cents", "contribution_base_cents")
        return self
