"""The rules of a programme's policy year, stored as data and validated on load (DOMAIN 2.3-2.7).

Every number here is a default that an administrator may change per programme and year. The benefits a
programme pays are configuration too: each is one of three shapes the engine knows (a share of the
eligible cost, a fixed lump sum, the amount requested within bounds) with its own limits, documents and
routing. The union's mutual aid (hospitalisation, critical illness, special hardship) and the temporary
assistance programme (living, emergency, medical, education, other) differ only in this data; see
`config/rules/`.

Rules written before benefits were configuration (top-level `hospitalisation`, `critical_illness`,
`hardship`, `required_documents`, `routing.always_top_level`) are read into the current shape.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.claims_enums import BenefitType, DocumentType, HospitalTier

BENEFIT_KEY = re.compile(r"^[a-z][a-z0-9_]{0,23}$")

HOSPITAL_DOCUMENTS: tuple[DocumentType, ...] = (
    DocumentType.ID_CARD,
    DocumentType.INVOICE,
    DocumentType.EXPENSE_LIST,
    DocumentType.DISCHARGE_SUMMARY,
    DocumentType.SETTLEMENT_STATEMENT,
    DocumentType.BANK_CARD,
)


class BenefitKind(StrEnum):
    """The calculation shapes the benefit engine knows."""

    REIMBURSEMENT = "reimbursement"  # a share of the eligible hospital cost (the "second reimbursement")
    LUMP_SUM = "lump_sum"  # a fixed amount for a listed diagnosis
    REQUESTED = "requested"  # the amount asked for, within a minimum and a maximum per time


class BenefitRuleBase(BaseModel):
    """What every benefit has: names, documents, how often, whether it counts against the annual cap."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label_zh: str = Field(min_length=1, max_length=40)
    label_en: str = Field(default="", max_length=60)
    required_documents: tuple[DocumentType, ...] = (DocumentType.ID_CARD, DocumentType.BANK_CARD)
    times_per_year: int | None = Field(default=None, ge=1)  # granted claims per member and year; None: any
    within_annual_cap: bool = True
    always_top_level: bool = False  # e.g. special hardship is always approved at the top level


class ReimbursementRule(BenefitRuleBase):
    """payout = ratio × max(0, eligible − deductible), at least min(minimum, eligible), at most max_per_claim."""

    kind: Literal[BenefitKind.REIMBURSEMENT] = BenefitKind.REIMBURSEMENT
    ratio: Decimal = Field(default=Decimal("0.70"), gt=0, le=1)
    ratio_by_tier: dict[HospitalTier, Decimal] = Field(default_factory=dict)  # overrides `ratio` per tier
    deductible_fen: int = Field(default=0, ge=0)
    minimum_fen: int = Field(default=30000, ge=0)  # "at least 300 yuan"
    max_per_claim_fen: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _tier_ratios_are_shares(self) -> ReimbursementRule:
        for tier, ratio in self.ratio_by_tier.items():
            if not Decimal(0) < ratio <= Decimal(1):
                raise ValueError(f"ratio_by_tier[{tier}] must be in (0, 1]")
        return self

    def ratio_for(self, tier: str | None) -> Decimal:
        """The ratio that applies to a hospital of `tier`."""
        if tier is not None and tier in self.ratio_by_tier:
            return self.ratio_by_tier[HospitalTier(tier)]
        return self.ratio


class LumpSumRule(BenefitRuleBase):
    """A fixed amount for a diagnosis whose ICD-10 code starts with a listed prefix (empty list: any)."""

    kind: Literal[BenefitKind.LUMP_SUM] = BenefitKind.LUMP_SUM
    amount_fen: int = Field(default=500000, gt=0)
    icd10_prefixes: tuple[str, ...] = ()

    def listed(self, code: str) -> bool:
        """Whether a diagnosis code is on the list."""
        code = code.strip().upper()
        return not self.icd10_prefixes or any(code.startswith(p.upper()) for p in self.icd10_prefixes)


class RequestedAmountRule(BenefitRuleBase):
    """The amount requested, refused below `min_fen`, granted up to `max_fen` per time."""

    kind: Literal[BenefitKind.REQUESTED] = BenefitKind.REQUESTED
    min_fen: int = Field(default=0, ge=0)
    max_fen: int = Field(gt=0)

    @model_validator(mode="after")
    def _bounds_in_order(self) -> RequestedAmountRule:
        if self.min_fen > self.max_fen:
            raise ValueError("min_fen must not exceed max_fen")
        return self


BenefitRule = Annotated[ReimbursementRule | LumpSumRule | RequestedAmountRule, Field(discriminator="kind")]


def mutual_aid_benefits() -> dict[str, BenefitRule]:
    """The union's medical mutual aid (DOMAIN 2.6) with its default numbers."""
    return {
        BenefitType.HOSPITALISATION: ReimbursementRule(
            label_zh="住院二次报销", label_en="Hospitalisation", required_documents=HOSPITAL_DOCUMENTS
        ),
        BenefitType.CRITICAL_ILLNESS: LumpSumRule(
            label_zh="重大疾病补助",
            label_en="Critical illness",
            amount_fen=500000,
            icd10_prefixes=("C", "I21", "I63", "N18.5", "Z94"),
            times_per_year=1,
            required_documents=(DocumentType.ID_CARD, DocumentType.DIAGNOSIS_CERTIFICATE, DocumentType.BANK_CARD),
        ),
        BenefitType.SPECIAL_HARDSHIP: RequestedAmountRule(
            label_zh="特殊困难补助", label_en="Special hardship", max_fen=300000, always_top_level=True
        ),
    }


class RoutingRule(BaseModel):
    """Which approval levels a claim needs (DOMAIN 2.7); per-benefit `always_top_level` adds to this."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    top_level_above_fen: int = Field(default=500000, ge=0)  # payout > this needs the top level
    base_levels: int = Field(default=2, ge=1, le=3)
    top_level: int = Field(default=3, ge=1, le=3)
    due_working_days: dict[int, int] = Field(default_factory=lambda: {1: 3, 2: 5, 3: 5})
    # An overdue task is reminded when it falls due, and escalated to the level's supervisor this many
    # working days later.
    escalate_after_working_days: int = Field(default=2, ge=0, le=30)

    @model_validator(mode="after")
    def _levels_consistent(self) -> RoutingRule:
        if self.top_level < self.base_levels:
            raise ValueError("top_level must be at least base_levels")
        return self


class PolicyRules(BaseModel):
    """All configurable rules of one policy year."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contribution_fen: int = Field(default=9500, ge=0)  # 95 CNY per member per year; 0: no contribution
    annual_cap_fen: int | None = Field(default=2000000, gt=0)  # 20,000 CNY per member per year; None: no cap
    waiting_days: int = Field(default=90, ge=0)
    filing_deadline_days: int = Field(default=365, gt=0)
    age_min: int = Field(default=16, ge=0)
    age_max: int = Field(default=75, ge=0)
    employment_statuses: tuple[str, ...] = ("in_service", "retired")
    # The org units (by code) whose subtrees form the programme's region; empty: the owner's subtree.
    region_org_codes: tuple[str, ...] = ()
    notice_days: int = Field(default=7, ge=0)
    letter_days: int = Field(default=7, ge=1)  # the applicant is told of a decision within this many days
    renewal_reminder_month_day: tuple[int, int] = (11, 1)
    benefits: dict[str, BenefitRule] = Field(default_factory=mutual_aid_benefits, min_length=1)
    routing: RoutingRule = RoutingRule()
    holidays: tuple[date, ...] = ()  # public holidays that are not working days
    extra_workdays: tuple[date, ...] = ()  # weekend days worked instead of a holiday (调休上班)
    hotline: str = "12351"
    report_email: str = "jubao@example-union.org.cn"

    @model_validator(mode="before")
    @classmethod
    def _read_earlier_shape(cls, data: Any) -> Any:
        return upgrade_rules_data(data) if isinstance(data, dict) else data

    @model_validator(mode="after")
    def _consistent(self) -> PolicyRules:
        if self.age_min > self.age_max:
            raise ValueError("age_min must not exceed age_max")
        if both := set(self.holidays) & set(self.extra_workdays):
            raise ValueError(f"a day cannot be both a holiday and a working day: {min(both)}")
        for key in self.benefits:
            if not BENEFIT_KEY.match(key):
                raise ValueError(f"benefit key {key!r}: lower-case letters, digits and _, at most 24 characters")
        return self

    def benefit(self, key: str) -> BenefitRule:
        """The rule of a benefit; KeyError if this programme does not pay it."""
        return self.benefits[key]


def upgrade_rules_data(data: dict[str, Any]) -> dict[str, Any]:
    """Rules data of the earlier fixed shape, moved into `benefits` (a no-op for current data)."""
    legacy = {"hospitalisation", "critical_illness", "hardship", "required_documents"}
    found = data.get("routing")
    routing: dict[str, Any] = dict(found) if isinstance(found, dict) else {}
    old_top = "always_top_level" in routing
    if not (legacy & data.keys()) and not old_top:
        return data
    data = dict(data)
    documents = {str(k): v for k, v in (data.pop("required_documents", None) or {}).items()}
    top = set(map(str, routing.pop("always_top_level", ()))) if old_top else {str(BenefitType.SPECIAL_HARDSHIP)}
    if old_top:
        data["routing"] = routing
    defaults = {k: v.model_dump(mode="json") for k, v in mutual_aid_benefits().items()}
    shapes = {
        BenefitType.HOSPITALISATION: data.pop("hospitalisation", None) or {},
        BenefitType.CRITICAL_ILLNESS: data.pop("critical_illness", None) or {},
        BenefitType.SPECIAL_HARDSHIP: data.pop("hardship", None) or {},
    }
    benefits = dict(data.get("benefits") or {})
    for key, old in shapes.items():
        if key in benefits:
            continue
        rule = {**defaults[key], **(old.model_dump(mode="json") if isinstance(old, BaseModel) else old)}
        rule["always_top_level"] = str(key) in top
        if str(key) in documents:
            rule["required_documents"] = documents[str(key)]
        benefits[str(key)] = rule
    data["benefits"] = benefits
    return data
