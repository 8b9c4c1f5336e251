"""Hand-written pydantic models, one per data item, agreeing field by field with its Avro schema.

:data:`MODELS` maps each catalogue item name to its model; the unit tests check every model
against its ``.avsc`` (names, order, nullability, defaults, types, enum symbols, identifier
markers) with :func:`schemas.catalogue.agreement.model_mismatches`.
"""

from __future__ import annotations

from schemas.catalogue.models.affordable_housing_allocation import AffordableHousingAllocation
from schemas.catalogue.models.base import CatalogueRecord
from schemas.catalogue.models.construction_tender_award import ConstructionTenderAward
from schemas.catalogue.models.credit_record import CreditRecord
from schemas.catalogue.models.degree_certification import DegreeCertification
from schemas.catalogue.models.enterprise_registration import EnterpriseRegistration
from schemas.catalogue.models.government_procurement_award import GovernmentProcurementAward
from schemas.catalogue.models.identity_verification import IdentityVerification
from schemas.catalogue.models.land_use_right_transfer import LandUseRightTransfer
from schemas.catalogue.models.mining_right_transfer import MiningRightTransfer
from schemas.catalogue.models.public_institution_registration import PublicInstitutionRegistration
from schemas.catalogue.models.real_estate_registration import RealEstateRegistration
from schemas.catalogue.models.social_insurance_payment import SocialInsurancePayment
from schemas.catalogue.models.social_organisation_registration import SocialOrganisationRegistration
from schemas.catalogue.models.state_property_right_transaction import StatePropertyRightTransaction
from schemas.catalogue.models.tax_payment_certificate import TaxPaymentCertificate
from schemas.catalogue.models.tax_risk_assessment import TaxRiskAssessment

MODELS: dict[str, type[CatalogueRecord]] = {
    "affordable_housing_allocation": AffordableHousingAllocation,
    "construction_tender_award": ConstructionTenderAward,
    "credit_record": CreditRecord,
    "degree_certification": DegreeCertification,
    "enterprise_registration": EnterpriseRegistration,
    "government_procurement_award": GovernmentProcurementAward,
    "identity_verification": IdentityVerification,
    "land_use_right_transfer": LandUseRightTransfer,
    "mining_right_transfer": MiningRightTransfer,
    "public_institution_registration": PublicInstitutionRegistration,
    "real_estate_registration": RealEstateRegistration,
    "social_insurance_payment": SocialInsurancePayment,
    "social_organisation_registration": SocialOrganisationRegistration,
    "state_property_right_transaction": StatePropertyRightTransaction,
    "tax_payment_certificate": TaxPaymentCertificate,
    "tax_risk_assessment": TaxRiskAssessment,
}

__all__ = [
    "MODELS",
    "AffordableHousingAllocation",
    "CatalogueRecord",
    "ConstructionTenderAward",
    "CreditRecord",
    "DegreeCertification",
    "EnterpriseRegistration",
    "GovernmentProcurementAward",
    "IdentityVerification",
    "LandUseRightTransfer",
    "MiningRightTransfer",
    "PublicInstitutionRegistration",
    "RealEstateRegistration",
    "SocialInsurancePayment",
    "SocialOrganisationRegistration",
    "StatePropertyRightTransaction",
    "TaxPaymentCertificate",
    "TaxRiskAssessment",
]
