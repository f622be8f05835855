"""The rules of a programme's policy year, stored as data and validated on load (DOMAIN 2.3-2.7).

Every number here is a default that an administrator may change per programme and year. The eligibility
rules are the region, employment statuses and age range here; the bar list is a table of its own
(models.bar_list), because it is personal data that administrators keep up to date during the year.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.claims_enums import BenefitType, DocumentType


class HospitalisationRule(BaseModel):
    """The "second reimbursement" (工会二次报销)."""

    model_config = ConfigDict(frozen=True)

    ratio: Decimal = Field(default=Decimal("0.70"), gt=0, le=1)
    deductible_fen: int = Field(default=0, ge=0)
    minimum_fen: int = Field(default=30000, ge=0)  # "at least 300 yuan"


class CriticalIllnessRule(BaseModel):
    """A lump sum for a diagnosis on the programme's list, once per member and year."""

    model_config = ConfigDict(frozen=True)

    amount_fen: int = Field(default=500000, ge=0)
    icd10_prefixes: tuple[str, ...] = ("C", "I21", "I63", "N18.5", "Z94")


class HardshipRule(BaseModel):
    """Special hardship (特殊困难补助): the amount requested, up to a maximum."""

    model_config = ConfigDict(frozen=True)

    max_fen: int = Field(default=300000, ge=0)


class RoutingRule(BaseModel):
    """Which approval levels a claim needs (DOMAIN 2.7)."""

    model_config = ConfigDict(frozen=True)

    top_level_above_fen: int = Field(default=500000, ge=0)  # payout > this needs L3
    base_levels: int = Field(default=2, ge=1, le=3)
    top_level: int = Field(default=3, ge=1, le=3)
    always_top_level: tuple[BenefitType, ...] = (BenefitType.SPECIAL_HARDSHIP,)
    due_working_days: dict[int, int] = Field(default_factory=lambda: {1: 3, 2: 5, 3: 5})

    @model_validator(mode="after")
    def _levels_consistent(self) -> RoutingRule:
        if self.top_level < self.base_levels:
            raise ValueError("top_level must be at least base_levels")
        return self


DEFAULT_REQUIRED_DOCUMENTS: dict[BenefitType, tuple[DocumentType, ...]] = {
    BenefitType.HOSPITALISATION: (
        DocumentType.ID_CARD,
        DocumentType.INVOICE,
        DocumentType.EXPENSE_LIST,
        DocumentType.DISCHARGE_SUMMARY,
        DocumentType.SETTLEMENT_STATEMENT,
        DocumentType.BANK_CARD,
    ),
    BenefitType.CRITICAL_ILLNESS: (
        DocumentType.ID_CARD,
        DocumentType.DIAGNOSIS_CERTIFICATE,
        DocumentType.BANK_CARD,
    ),
    BenefitType.SPECIAL_HARDSHIP: (DocumentType.ID_CARD, DocumentType.BANK_CARD),
}


class PolicyRules(BaseModel):
    """All configurable rules of one policy year."""

    model_config = ConfigDict(frozen=True)

    contribution_fen: int = Field(default=9500, gt=0)  # 95 CNY per member per year
    annual_cap_fen: int = Field(default=2000000, gt=0)  # 20,000 CNY per member per year
    waiting_days: int = Field(default=90, ge=0)
    filing_deadline_days: int = Field(default=365, gt=0)
    age_min: int = Field(default=16, ge=0)
    age_max: int = Field(default=75, ge=0)
    employment_statuses: tuple[str, ...] = ("in_service", "retired")
    # The org units (by code) whose subtrees form the programme's region; empty: the owner's subtree.
    region_org_codes: tuple[str, ...] = ()
    notice_days: int = Field(default=7, ge=0)
    renewal_reminder_month_day: tuple[int, int] = (11, 1)
    hospitalisation: HospitalisationRule = HospitalisationRule()
    critical_illness: CriticalIllnessRule = CriticalIllnessRule()
    hardship: HardshipRule = HardshipRule()
    routing: RoutingRule = RoutingRule()
    required_documents: dict[BenefitType, tuple[DocumentType, ...]] = Field(
        default_factory=lambda: dict(DEFAULT_REQUIRED_DOCUMENTS)
    )
    holidays: tuple[date, ...] = ()  # public holidays that are not working days
    hotline: str = "12351"
    report_email: str = "jubao@example-union.org.cn"

    @model_validator(mode="after")
    def _ages_in_order(self) -> PolicyRules:
        if self.age_min > self.age_max:
            raise ValueError("age_min must not exceed age_max")
        return self
