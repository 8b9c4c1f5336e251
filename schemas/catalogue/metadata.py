"""The catalogue metadata of one data item: the ``<item>.json`` file beside ``<item>.avsc``.

The fields follow the core metadata of a government information resource catalogue entry
(《政务信息资源目录编制指南（试行）》: name, code, provider, summary, format, information items,
sharing type and conditions, open attribute, update cycle), plus what govbus needs to move the
item safely: key fields, personal fields with their masking, identifier fields with their check,
and the schema compatibility level. Example (abridged)::

    {
      "item": "enterprise_registration",
      "code": "102001/000001",
      "title": {"zh": "企业登记信息", "en": "Enterprise registration"},
      "department": "market-regulation",
      "description": "...",
      "sharing_class": "unconditional",
      "sharing_conditions": null,
      "open_to_public": false,
      "personal_fields": {"legal_representative": "name"},
      "not_personal_fields": ["uscc", "name", "division_code", "registered_capital_cents", ...],
      "key_fields": ["uscc"],
      "identifier_fields": {"uscc": "uscc", "division_code": "division_code"},
      "update_cycle": "real_time",
      "legal_basis": ["《政务信息资源共享管理暂行办法》(国发〔2016〕51号)"],
      "compatibility": "BACKWARD"
    }

An item whose schema is a copy of another item's under its own name (as the generated catalogues of the
scale benchmark are, ``bench/scenario/catalogue_gen.py``) names that item in ``model``
(``"model": "enterprise_registration"``) and shares its pydantic model instead of having one of its own; the
loader checks that the schema still agrees with that model field by field.

``personal_fields`` and ``not_personal_fields`` together classify every field path of the schema,
nested ones included (``encumbrances[].holder``; see :mod:`schemas.catalogue.classification`):
what is not classified not personal is masked. Checks against the Avro schema (the named fields
exist, every field is classified, keys are not nullable) are done by :mod:`schemas.catalogue.loader`,
which sees both files.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.catalogue.types import IdentifierKind
from schemas.registry.compatibility import CompatibilityLevel as CompatibilityLevel  # re-exported

ITEM_NAME_PATTERN = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"
CATALOGUE_CODE_PATTERN = r"^[1-3][0-9]{2}[0-9]{3}[0-9]*/[0-9]{6}$"  # [0-9]: pydantic's \d takes any digit
"""Classification code (类 1 digit: 1 basic, 2 theme, 3 department; 项 2; 目 3; optional 细目)
``/`` a 6-digit sequence number, the shape the catalogue guideline gives its resource codes."""


class Department(StrEnum):
    """Providing departments (slugs used in topic names) and their Chinese names."""

    MARKET_REGULATION = "market-regulation"
    PUBLIC_SECURITY = "public-security"
    CIVIL_AFFAIRS = "civil-affairs"
    PUBLIC_SECTOR_REFORM = "public-sector-reform"
    TAXATION = "taxation"
    NATURAL_RESOURCES = "natural-resources"
    EDUCATION = "education"
    CREDIT = "credit"
    FINANCE = "finance"
    HOUSING_CONSTRUCTION = "housing-construction"
    STATE_ASSETS = "state-assets"
    HUMAN_RESOURCES_SOCIAL_SECURITY = "human-resources-social-security"

    @property
    def title_zh(self) -> str:
        return _DEPARTMENT_NAMES[self]


_DEPARTMENT_NAMES = {
    Department.MARKET_REGULATION: "市场监督管理部门",
    Department.PUBLIC_SECURITY: "公安部门",
    Department.CIVIL_AFFAIRS: "民政部门",
    Department.PUBLIC_SECTOR_REFORM: "机构编制部门（事业单位登记管理机关）",
    Department.TAXATION: "税务部门",
    Department.NATURAL_RESOURCES: "自然资源部门",
    Department.EDUCATION: "教育部门",
    Department.CREDIT: "社会信用体系建设牵头部门",
    Department.FINANCE: "财政部门",
    Department.HOUSING_CONSTRUCTION: "住房和城乡建设部门",
    Department.STATE_ASSETS: "国有资产监督管理机构",
    Department.HUMAN_RESOURCES_SOCIAL_SECURITY: "人力资源和社会保障部门",
}


class SharingClass(StrEnum):
    """The sharing type of 国发〔2016〕51号: 无条件共享 / 有条件共享 / 不予共享."""

    UNCONDITIONAL = "unconditional"
    """Any registered government subscriber may receive it."""
    CONDITIONAL = "conditional"
    """A subscriber needs a grant (purpose, expiry) and receives only the granted fields."""
    NOT_SHARED = "not_shared"
    """Catalogued, but never leaves the provider."""


class MaskingKind(StrEnum):
    """How a personal field is shown to a subscriber without a grant for it."""

    RESIDENT_ID = "resident_id"
    NAME = "name"
    PHONE = "phone"
    ADDRESS = "address"
    FULL = "full"

    @property
    def example(self) -> str:
        return _MASKING_EXAMPLES[self]


_MASKING_EXAMPLES = {
    MaskingKind.RESIDENT_ID: "110101********123X (first 6 and last 4 kept)",
    MaskingKind.NAME: "张* (surname kept)",
    MaskingKind.PHONE: "138****5678 (first 3 and last 4 kept)",
    MaskingKind.ADDRESS: "北京市朝阳区****** (down to the county kept)",
    MaskingKind.FULL: "****** (nothing kept)",
}


class UpdateCycle(StrEnum):
    """How often the provider updates the item (更新周期)."""

    REAL_TIME = "real_time"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


class Title(BaseModel):
    """The item's title in Chinese and in English."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: str = Field(min_length=1, description="Chinese title, e.g. 企业登记信息")
    en: str = Field(min_length=1, description="English title, e.g. Enterprise registration")


class ItemMetadata(BaseModel):
    """Catalogue metadata of one data item, as written in ``<item>.json``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    item: str = Field(pattern=ITEM_NAME_PATTERN, description="catalogue name, snake_case; the file stem")
    code: str = Field(pattern=CATALOGUE_CODE_PATTERN, description="catalogue code (信息资源代码)")
    title: Title
    department: Department = Field(description="the providing department; the only one that may publish it")
    description: str = Field(min_length=1, description="what a record is (信息资源摘要)")
    sharing_class: SharingClass
    sharing_conditions: str | None = Field(
        default=None, description="what a grant requires; required for conditional items (共享条件)")
    open_to_public: bool = Field(description="may be disclosed to the public on the open-data portal")
    personal_fields: dict[str, MaskingKind] = Field(
        default_factory=dict, description="personal field paths and how each is masked without a grant")
    not_personal_fields: list[str] = Field(
        default_factory=list, description="field paths that are not personal: delivered in clear and disclosed "
        "when the item is open; every other path is personal")
    key_fields: list[str] = Field(min_length=1, description="fields whose values, joined with '|', key a record")
    identifier_fields: dict[str, IdentifierKind] = Field(
        default_factory=dict, description="fields holding identifiers with a check rule")
    update_cycle: UpdateCycle
    legal_basis: list[str] = Field(min_length=1, description="laws and regulations the sharing rests on")
    compatibility: CompatibilityLevel = Field(
        default=CompatibilityLevel.BACKWARD, description="schema compatibility level of the item's subjects")
    model: str | None = Field(
        default=None, pattern=ITEM_NAME_PATTERN,
        description="the item whose pydantic model this one shares (its schema a copy of that item's, under another "
                    "name); omitted: the item's own model, MODELS[item]")

    @model_validator(mode="after")
    def _consistent(self) -> ItemMetadata:
        if self.sharing_class is SharingClass.CONDITIONAL and not self.sharing_conditions:
            raise ValueError("a conditional item needs sharing_conditions (what a grant requires)")
        if self.sharing_class is SharingClass.NOT_SHARED and self.open_to_public:
            raise ValueError("a not_shared item cannot be open_to_public")
        if len(set(self.key_fields)) != len(self.key_fields):
            raise ValueError(f"key_fields repeat a field: {self.key_fields}")
        if any(not basis.strip() for basis in self.legal_basis):
            raise ValueError("legal_basis has an empty entry")
        return self
