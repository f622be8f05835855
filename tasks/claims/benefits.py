"""The benefit engine (DOMAIN 2.6): payout from claim facts and the year's rules, with an explanation.

Pure functions over integer fen; ratios are Decimals and every product is rounded ROUND_HALF_UP to the
fen. Which calculation applies is configuration (models.rules: reimbursement, lump sum, requested
amount); each step is recorded with its inputs and result, and its zh-CN sentence (tasks.claims.explain).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from models.errors import ValidationFailed
from models.rules import (
    BenefitRule,
    LumpSumRule,
    PolicyRules,
    ReimbursementRule,
    RequestedAmountRule,
)
from tasks.claims.explain import describe

CAP_REACHED = "本年度补偿已达封顶额"


@dataclass(frozen=True)
class ClaimFacts:
    """The numbers and context a calculation needs; amounts in fen."""

    benefit_type: str
    total_fen: int = 0
    basic_insurance_fen: int = 0
    serious_illness_fen: int = 0
    other_reimbursement_fen: int = 0
    self_paid_fen: int = 0
    requested_fen: int | None = None
    diagnosis_code: str = ""
    hospital_tier: str | None = None
    covered_on_admission: bool = True
    within_deadline: bool = True
    used_cap_fen: int = 0  # payouts of the member's other approved or paid claims this year (within the cap)
    times_used: int = 0  # the member's other approved or paid claims of this benefit this year


@dataclass
class Calculation:
    """The outcome: payout, routing, and the explanation steps; `rejection` is set when payout is refused."""

    payout_fen: int = 0
    eligible_fen: int | None = None
    required_levels: int = 0
    rejection: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)

    def step(self, code: str, result_fen: int | None = None, **inputs: Any) -> str:
        """Record one step of the calculation; return its zh-CN sentence."""
        text = describe(code, inputs, result_fen)
        self.steps.append({"step": code, "text": text, "inputs": inputs, "result_fen": result_fen})
        return text

    def refuse(self, code: str, **inputs: Any) -> None:
        """Record the step that refuses the payout; its sentence becomes the rejection reason."""
        self.rejection = self.step(code, 0, **inputs)


def times_ratio(amount_fen: int, ratio: Decimal) -> int:
    """amount × ratio, rounded half up to the fen."""
    return int((Decimal(amount_fen) * ratio).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def benefit_rule(rules: PolicyRules, benefit_type: str) -> BenefitRule:
    """The rule of a benefit type, or ValidationFailed if the programme does not pay it."""
    rule = rules.benefits.get(str(benefit_type))
    if rule is None:
        known = "、".join(rules.benefits)
        raise ValidationFailed(f"本项目没有补助类别 {benefit_type}（可选：{known}）", code="unknown_benefit_type")
    return rule


def calculate(facts: ClaimFacts, rules: PolicyRules) -> Calculation:
    """Compute the payout of a claim under `rules`; raise ValidationFailed for impossible inputs."""
    rule = benefit_rule(rules, facts.benefit_type)
    calc = Calculation()
    if isinstance(rule, ReimbursementRule):
        amount = _reimbursement(facts, rule, calc)
    elif isinstance(rule, LumpSumRule):
        amount = _lump_sum(facts, rule, calc)
    else:
        amount = _requested(facts, rule, calc)
    if calc.rejection is None and rule.times_per_year is not None and facts.times_used >= rule.times_per_year:
        calc.refuse("times_per_year", label=rule.label_zh, label_en=rule.label_en, used=facts.times_used,
                    limit=rule.times_per_year)  # fmt: skip
    if calc.rejection is None and not facts.covered_on_admission:
        calc.refuse("refused", reason="not_covered")
    if calc.rejection is None and not facts.within_deadline:
        calc.refuse("refused", reason="late", days=rules.filing_deadline_days)
    if calc.rejection is None:
        calc.payout_fen = _apply_cap(amount, facts, rule, rules, calc)
        if calc.payout_fen == 0 and amount > 0:
            calc.rejection = CAP_REACHED
    calc.required_levels = required_levels(facts.benefit_type, calc.payout_fen, rules)
    calc.step("routing", None, levels=calc.required_levels)
    return calc


def required_levels(benefit_type: str, payout_fen: int, rules: PolicyRules) -> int:
    """How many approval levels a claim needs (DOMAIN 2.7 routing)."""
    routing = rules.routing
    rule = rules.benefits.get(str(benefit_type))
    if (rule is not None and rule.always_top_level) or payout_fen > routing.top_level_above_fen:
        return routing.top_level
    return routing.base_levels


def _reimbursement(facts: ClaimFacts, rule: ReimbursementRule, calc: Calculation) -> int:
    amounts = {
        "total_fen": facts.total_fen,
        "basic_insurance_fen": facts.basic_insurance_fen,
        "serious_illness_fen": facts.serious_illness_fen,
        "other_reimbursement_fen": facts.other_reimbursement_fen,
        "self_paid_fen": facts.self_paid_fen,
    }
    if any(v < 0 for v in amounts.values()):
        raise ValidationFailed("金额不能为负数", code="negative_amount")
    eligible = facts.total_fen - sum(v for k, v in amounts.items() if k != "total_fen")
    if eligible < 0:
        raise ValidationFailed("可报销金额为负：各项报销与自费之和超过总费用", code="eligible_negative")
    calc.eligible_fen = eligible
    calc.step("eligible", eligible, **amounts)
    ratio = rule.ratio_for(facts.hospital_tier)
    base = times_ratio(max(0, eligible - rule.deductible_fen), ratio)
    calc.step("base", base, ratio=str(ratio), eligible_fen=eligible, deductible_fen=rule.deductible_fen)
    if base <= 0:
        return 0
    payout = max(base, min(rule.minimum_fen, eligible))
    if payout != base:
        calc.step("minimum", payout, minimum_fen=rule.minimum_fen)
    if rule.max_per_claim_fen is not None and payout > rule.max_per_claim_fen:
        payout = rule.max_per_claim_fen
        calc.step("per_claim_max", payout, max_fen=rule.max_per_claim_fen)
    return payout


def _lump_sum(facts: ClaimFacts, rule: LumpSumRule, calc: Calculation) -> int:
    if not rule.listed(facts.diagnosis_code):
        calc.refuse("listed", label=rule.label_zh, label_en=rule.label_en)  # the code itself is never repeated
        return 0
    calc.step("lump_sum", rule.amount_fen, label=rule.label_zh, label_en=rule.label_en)
    return rule.amount_fen


def _requested(facts: ClaimFacts, rule: RequestedAmountRule, calc: Calculation) -> int:
    requested = facts.requested_fen
    if requested is None:
        raise ValidationFailed(f"{rule.label_zh}须填写申请金额", code="requested_amount_missing")
    if requested < 0:
        raise ValidationFailed("申请金额不能为负数", code="negative_amount")
    if requested < rule.min_fen:
        calc.refuse("below_minimum", requested_fen=requested, min_fen=rule.min_fen, label=rule.label_zh,
                    label_en=rule.label_en)  # fmt: skip
        return 0
    amount = min(requested, rule.max_fen)
    calc.step("requested", amount, requested_fen=requested, max_fen=rule.max_fen, label=rule.label_zh,
              label_en=rule.label_en)  # fmt: skip
    return amount


def _apply_cap(amount: int, facts: ClaimFacts, rule: BenefitRule, rules: PolicyRules, calc: Calculation) -> int:
    if rules.annual_cap_fen is None or not rule.within_annual_cap:
        calc.step("no_cap", amount, label=rule.label_zh, label_en=rule.label_en)
        return amount
    remaining = max(0, rules.annual_cap_fen - facts.used_cap_fen)
    payout = min(amount, remaining)
    calc.step("cap", payout, annual_cap_fen=rules.annual_cap_fen, used_cap_fen=facts.used_cap_fen,
              remaining_fen=remaining)  # fmt: skip
    return payout
