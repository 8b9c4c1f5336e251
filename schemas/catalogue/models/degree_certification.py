"""Degree and diploma certification (学历学位证书信息), owned by education."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from schemas.catalogue.models.base import CatalogueRecord, require_order
from schemas.catalogue.types import ResidentId, Text

InstitutionCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{5}$")]
"""院校代码: five digits."""


class CertificateKind(StrEnum):
    DIPLOMA = "DIPLOMA"  # 学历证书
    DEGREE = "DEGREE"  # 学位证书


class EducationLevel(StrEnum):
    JUNIOR_COLLEGE = "JUNIOR_COLLEGE"  # 专科
    BACHELOR = "BACHELOR"  # 本科 / 学士
    MASTER = "MASTER"  # 硕士
    DOCTOR = "DOCTOR"  # 博士


class StudyMode(StrEnum):
    FULL_TIME = "FULL_TIME"
    PART_TIME = "PART_TIME"


class CertificateStatus(StrEnum):
    VALID = "VALID"
    REVOKED = "REVOKED"


class DegreeCertification(CatalogueRecord):
    """One diploma or degree certificate."""

    certificate_number: Text = Field(description="certificate number, unique nationwide")
    certificate_kind: CertificateKind = Field(description="diploma or degree")
    holder_name: Text = Field(description="name of the holder (personal)")
    holder_resident_id: ResidentId = Field(description="identity number of the holder (personal)")
    institution_name: Text = Field(description="awarding institution")
    institution_code: InstitutionCode = Field(description="five-digit institution code (院校代码)")
    major: Text = Field(description="major or discipline")
    level: EducationLevel = Field(description="level of education or degree")
    study_mode: StudyMode = Field(description="full-time or part-time")
    enrolled_on: dt.date = Field(description="date of enrolment")
    graduated_on: dt.date = Field(description="date of graduation or conferral")
    status: CertificateStatus = Field(description="valid or revoked")

    @model_validator(mode="after")
    def _dates_in_order(self) -> DegreeCertification:
        require_order(self, "enrolled_on", "graduated_on")
        return self
