"""One valid record per catalogue item, with real check characters, for the catalogue's unit tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from govbus.identifiers import id_check_character, uscc_check_character

CST = dt.timezone(dt.timedelta(hours=8))


def uscc(body17: str) -> str:
    """A unified social credit code with the right check character."""
    return body17 + uscc_check_character(body17)


def resident_id(first17: str) -> str:
    """A resident identity number with the right check character."""
    return first17 + id_check_character(first17)


PERSON = resident_id("11010519491231002")  # the GB 11643 sample: born 1949-12-31, female
COMPANY = uscc("91110105MA01ABCD2")
AUTHORITY = uscc("11110105000012345")
SUPPLIER = uscc("91330106MA2B3C4D5")


def sample_records() -> dict[str, dict[str, Any]]:
    announced = dt.datetime(2024, 5, 20, 9, 30, tzinfo=CST)
    return {
        "affordable_housing_allocation": {
            "allocation_number": "GZ-2024-000123", "housing_kind": "PUBLIC_RENTAL", "applicant_name": "王芳",
            "applicant_resident_id": PERSON, "household_size": 3, "project_name": "安居苑",
            "division_code": "110105", "unit_address": "北京市朝阳区安居苑3号楼502", "floor_area_dm2": 5_850,
            "monthly_rent_cents": 120_000, "lottery_number": 17, "allocated_on": "2024-05-18", "status": "ALLOCATED",
        },
        "construction_tender_award": {
            "tender_project_number": "E1101050001", "section_number": "01", "project_name": "朝阳区某小学改扩建工程",
            "tenderee_name": "北京市朝阳区教育委员会", "tenderee_uscc": AUTHORITY, "tender_method": "PUBLIC",
            "winning_bidder_name": "某建设集团有限公司", "winning_bidder_uscc": COMPANY,
            "project_manager_name": "李强", "bid_amount_cents": 8_765_432_100, "duration_days": 540,
            "division_code": "110105", "awarded_on": "2024-05-10", "announced_at": announced,
        },
        "credit_record": {
            "decision_number": "京朝市监罚〔2024〕123号", "decision_kind": "PENALTY", "subject_kind": "LEGAL_PERSON",
            "subject_name": "某科技有限公司", "subject_uscc": COMPANY, "legal_representative": "张伟",
            "content": "未按规定公示年度报告", "penalty_kind": "FINE", "fine_cents": 1_000_000,
            "decided_on": "2024-03-01", "authority_name": "北京市朝阳区市场监督管理局", "authority_uscc": AUTHORITY,
            "legal_basis": "《企业信息公示暂行条例》",
        },
        "degree_certification": {
            "certificate_number": "100011201705002345", "certificate_kind": "DIPLOMA", "holder_name": "王芳",
            "holder_resident_id": PERSON, "institution_name": "北京大学", "institution_code": "10001",
            "major": "计算机科学与技术", "level": "BACHELOR", "study_mode": "FULL_TIME",
            "enrolled_on": "1968-09-01", "graduated_on": "1972-07-01", "status": "VALID",
        },
        "enterprise_registration": {
            "uscc": COMPANY, "name": "某科技有限公司", "legal_representative": "张伟", "division_code": "110105",
            "registered_capital_cents": 100_000_000, "established_on": "2017-05-18", "status": "ESTABLISHED",
            "address": "北京市朝阳区某路1号",
        },
        "government_procurement_award": {
            "project_number": "BJCG-2024-0001", "lot_number": 2, "project_name": "办公设备采购",
            "purchaser_name": "北京市朝阳区财政局", "purchaser_uscc": AUTHORITY,
            "procurement_method": "PUBLIC_TENDER", "supplier_name": "某贸易有限公司", "supplier_uscc": SUPPLIER,
            "budget_cents": 50_000_000, "award_amount_cents": 48_800_000, "division_code": "110105",
            "awarded_on": "2024-05-10", "announced_at": announced,
        },
        "identity_verification": {
            "resident_id": PERSON, "name": "王芳", "gender": "FEMALE", "ethnicity": "汉",
            "birth_date": "1949-12-31", "household_address": "北京市朝阳区某街道某号", "division_code": "110105",
            "issuing_authority": "北京市公安局朝阳分局", "valid_from": "2010-01-01", "card_status": "VALID",
            "verified_at": announced,
        },
        "land_use_right_transfer": {
            "contract_number": "3301062024B00012", "parcel_number": "西政工出〔2024〕5号", "division_code": "330106",
            "location": "杭州市西湖区某路以东", "land_area_dm2": 2_345_678, "land_use": "INDUSTRIAL",
            "term_years": 50, "transfer_method": "LISTING", "starting_price_cents": 1_000_000_000,
            "transaction_price_cents": 1_250_000_000, "assignee_name": "某科技有限公司", "assignee_uscc": SUPPLIER,
            "signed_on": "2024-04-02", "announced_at": announced,
        },
        "mining_right_transfer": {
            "project_number": "KY-2024-003", "right_kind": "MINING", "mineral": "建筑用花岗岩",
            "mine_name": "某山矿区", "division_code": "330106", "area_dm2": 12_345_600, "transfer_method": "AUCTION",
            "starting_price_cents": 2_000_000_000, "transaction_price_cents": 2_600_000_000,
            "assignee_name": "某矿业有限公司", "assignee_uscc": SUPPLIER, "valid_from": "2024-06-01",
            "valid_until": "2034-05-31", "announced_at": announced,
        },
        "public_institution_registration": {
            "uscc": uscc("12110105400000001"), "name": "北京市朝阳区某中心", "legal_representative": "赵敏",
            "sponsor_unit": "北京市朝阳区人民政府", "funding_source": "FULL_FINANCIAL_ALLOCATION",
            "purpose_and_scope": "为社区提供公共服务", "startup_capital_cents": 10_000_000,
            "registration_authority": "北京市朝阳区事业单位登记管理局", "division_code": "110105",
            "address": "北京市朝阳区某路2号", "certificate_valid_from": "2020-01-01",
            "certificate_valid_until": "2025-12-31", "status": "ESTABLISHED",
        },
        "real_estate_registration": {
            "certificate_number": "京(2017)朝阳区不动产权第0012345号", "unit_number": "110105001002GB00012F00010001",
            "division_code": "110105", "location": "朝阳区某小区1号楼2单元301", "right_type":
            "STATE_LAND_USE_AND_HOUSE_OWNERSHIP", "right_nature": "GRANTED", "usage": "城镇住宅用地/住宅",
            "land_area_dm2": 1_234, "floor_area_dm2": 8_956, "owner_kind": "NATURAL_PERSON", "owner_name": "王芳",
            "owner_resident_id": PERSON, "co_ownership": "SOLE", "land_use_ends_on": "2077-05-17",
            "registered_on": "2017-06-01",
            "encumbrances": [{"kind": "MORTGAGE", "holder": "某银行北京分行", "registered_on": "2017-06-05",
                              "secured_amount_cents": 150_000_000, "ends_on": "2037-06-04"}],
            "status": "VALID",
        },
        "social_insurance_payment": {
            "certificate_number": "110105202405000123", "insured_name": "王芳", "insured_resident_id": PERSON,
            "insurance_type": "PENSION", "employer_name": "某科技有限公司", "employer_uscc": COMPANY,
            "insurance_agency": "北京市朝阳区社会保险事业管理中心", "insurance_agency_division_code": "110105",
            "period": "2024-05", "contribution_base_cents": 1_200_000, "amount_cents": 288_000, "paid_at": announced,
        },
        "social_organisation_registration": {
            "uscc": uscc("51110000500000001"), "name": "北京市某行业协会", "organisation_type": "SOCIAL_GROUP",
            "legal_representative": "刘洋", "registration_authority": "北京市民政局", "division_code": "110000",
            "business_scope": "行业自律、咨询服务", "startup_capital_cents": 3_000_000, "registered_on": "2015-03-01",
            "status": "REGISTERED", "address": "北京市东城区某路3号",
        },
        "state_property_right_transaction": {
            "project_number": "G32024BJ1000123", "exchange_name": "北京产权交易所", "target_name": "某实业有限公司",
            "target_uscc": COMPANY, "transferor_name": "某国有控股集团有限公司", "transferor_uscc": SUPPLIER,
            "transferee_name": "某投资有限公司", "transferee_uscc": uscc("91440300MA5F6G7H8"),
            "transferred_share_bp": 5_100, "listing_price_cents": 30_000_000_000,
            "transaction_price_cents": 31_500_000_000, "transaction_method": "ONLINE_BIDDING",
            "approved_by": "北京市人民政府国有资产监督管理委员会", "signed_on": "2024-05-01", "announced_at": announced,
        },
        "tax_payment_certificate": {
            "certificate_number": "311016240500012345", "taxpayer_kind": "INDIVIDUAL", "taxpayer_name": "王芳",
            "taxpayer_resident_id": PERSON, "tax_authority": "国家税务总局北京市朝阳区税务局",
            "tax_authority_division_code": "110105", "tax_type": "INDIVIDUAL_INCOME_TAX",
            "period_start": "2024-04-01", "period_end": "2024-04-30", "amount_cents": 123_456,
            "paid_at": announced, "issued_on": "2024-05-21",
        },
        "tax_risk_assessment": {
            "assessment_number": "FX-2024-0042", "taxpayer_uscc": COMPANY,
            "tax_authority": "国家税务总局北京市朝阳区税务局", "risk_level": "MEDIUM",
            "indicators": ["R017", "R102"], "assessed_on": "2024-05-31",
        },
    }
