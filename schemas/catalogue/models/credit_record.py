"""Credit record (行政许可和行政处罚信用信息), owned by the credit authorities."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import Field, model_validator

from schemas.catalogue.models.base import CatalogueRecord, require_identifier_for_kind
from schemas.catalogue.types import Cents, ResidentId, Text, Uscc, field_error


class DecisionKind(StrEnum):
    LICENSING = "LICENSING"  # 行政许可
    PENALTY = "PENALTY"  # 行政处罚


class SubjectKind(StrEnum):
    LEGAL_PERSON = "LEGAL_PERSON"  # 法人及非法人组织
    INDIVIDUAL_BUSINESS = "INDIVIDUAL_BUSINESS"  # 个体工商户
    NATURAL_PERSON = "NATURAL_PERSON"  # 自然人


class PenaltyKind(StrEnum):
    WARNING = "WARNING"  # 警告、通报批评
    FINE = "FINE"  # 罚款
    CONFISCATION = "CONFISCATION"  # 没收违法所得、没收非法财物
    SUSPENSION = "SUSPENSION"  # 责令停产停业
    LICENCE_REVOCATION = "LICENCE_REVOCATION"  # 吊销许可证件
    DETENTION = "DETENTION"  # 行政拘留
    OTHER = "OTHER"


class CreditRecord(CatalogueRecord):
    """One administrative licensing or penalty decision."""

    decision_number: Text = Field(description="number of the decision document")
    decision_kind: DecisionKind = Field(description="licensing or penalty")
    subject_kind: SubjectKind = Field(description="kind of the administrative counterpart")
    subject_name: Text = Field(description="name of the counterpart (personal for a natural person)")
    subject_uscc: Uscc | None = Field(default=None, description="credit code of a legal person or business")
    subject_resident_id: ResidentId | None = Field(default=None, description="identity number of a natural person")
    legal_representative: Text | None = Field(default=None, description="legal representative or operator")
    content: Text = Field(description="what was licensed, or the violation and the penalty")
    penalty_kind: PenaltyKind | None = Field(default=None, description="main kind of penalty; null for licensing")
    fine_cents: Cents | None = Field(default=None, description="amount of a fine in fen")
    decided_on: dt.date = Field(description="date of the decision")
    valid_until: dt.date | None = Field(default=None, description="last day a licence is valid")
    authority_name: Text = Field(description="deciding authority")
    authority_uscc: Uscc = Field(description="credit code of the deciding authority")
    legal_basis: Text = Field(description="laws and articles the decision rests on")

    @model_validator(mode="after")
    def _consistent(self) -> CreditRecord:
        require_identifier_for_kind(self, "subject_kind", {SubjectKind.LEGAL_PERSON: "subject_uscc",
                                                           SubjectKind.INDIVIDUAL_BUSINESS: "subject_uscc",
                                                           SubjectKind.NATURAL_PERSON: "subject_resident_id"})
        if self.decision_kind == DecisionKind.PENALTY and self.penalty_kind is None:
            raise field_error("penalty.required", "is required for a penalty decision", field="penalty_kind")
        if self.decision_kind == DecisionKind.LICENSING and (self.penalty_kind or self.fine_cents is not None):
            raise field_error("penalty.unexpected", "must be null for a licensing decision",
                              field="penalty_kind" if self.penalty_kind else "fine_cents")
        return self
