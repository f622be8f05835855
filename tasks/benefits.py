"""The benefit engine (DOMAIN 2.6): payout from claim facts and the year's rules, with an explanation.

Pure functions over integer fen; the ratio is a Decimal and every product is rounded ROUND_HALF_UP to
the fen. Each step is recorded (inputs and result) so reviewers and applicants can see why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from models.base import format_yuan
from models.claims_enums import BenefitType
from models.errors import ValidationFailed
from models.rules import PolicyRules


@dataclass(frozen=True)
class ClaimFacts:
    """The numbers and context a calculation needs; amounts in fen."""

    benefit_type: BenefitType
    total_fen: int = 0
    basic_insurance_fen: int = 0
    serious_illness_fen: int = 0
    other_reimbursement_fen: int = 0
    self_paid_fen: int = 0
    requested_fen: int | None = None
    diagnosis_code: str = ""
    covered_on_admission: bool = True
    within_deadline: bool = True
    used_cap_fen: int = 0  # payouts of the member's other approved or paid claims this year
    critical_illness_used: bool = False  # a critical-illness claim already approved this year


@dataclass
class Calculation:
    """The outcome: payout, routing, and the explanation steps; `rejection` is set when payout is refused."""

    payout_fen: int = 0
    eligible_fen: int | None = None
    required_levels: int = 0
    rejection: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)

    def step(self, code: str, text: str, result_fen: int | None = None, **inputs: Any) -> None:
        """Record one step of the calculation."""
        self.steps.append({"step": code, "text": text, "inputs": inputs, "result_fen": result_fen})


def times_ratio(amount_fen: int, ratio: Decimal) -> int:
    """amount × ratio, rounded half up to the fen."""
    return int((Decimal(amount_fen) * ratio).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def calculate(facts: ClaimFacts, rules: PolicyRules) -> Calculation:
    """Compute the payout of a claim under `rules`; raise ValidationFailed for impossible inputs."""
    calc = Calculation()
    if facts.benefit_type == BenefitType.HOSPITALISATION:
        amount = _hospitalisation(facts, rules, calc)
    elif facts.benefit_type == BenefitType.CRITICAL_ILLNESS:
        amount = _critical_illness(facts, rules, calc)
    else:
        amount = _hardship(facts, rules, calc)
    if not facts.covered_on_admission:
        calc.rejection = "入院日期不在保障期内"
    elif not facts.within_deadline:
        calc.rejection = f"超过申请期限（出院后{rules.filing_deadline_days}天内）"
    if calc.rejection:
        calc.step("refused", calc.rejection, 0)
        calc.payout_fen = 0
    else:
        calc.payout_fen = _apply_cap(amount, facts, rules, calc)
        if calc.payout_fen == 0 and calc.rejection is None and amount > 0:
            calc.rejection = "本年度补偿已达封顶额"
    calc.required_levels = required_levels(facts.benefit_type, calc.payout_fen, rules)
    calc.step("routing", f"需经{calc.required_levels}级审批", None, levels=calc.required_levels)
    return calc


def required_levels(benefit_type: BenefitType, payout_fen: int, rules: PolicyRules) -> int:
    """How many approval levels a claim needs (DOMAIN 2.7 routing)."""
    routing = rules.routing
    if benefit_type in routing.always_top_level or payout_fen > routing.top_level_above_fen:
        return routing.top_level
    return routing.base_levels


def _hospitalisation(facts: ClaimFacts, rules: PolicyRules, calc: Calculation) -> int:
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
    calc.step(
        "eligible",
        f"合规费用 = 总费用 {format_yuan(facts.total_fen)} − 基本医保 {format_yuan(facts.basic_insurance_fen)}"
        f" − 大病保险 {format_yuan(facts.serious_illness_fen)} − 其他报销 {format_yuan(facts.other_reimbursement_fen)}"
        f" − 自费 {format_yuan(facts.self_paid_fen)} = {format_yuan(eligible)}",
        eligible,
        **amounts,
    )
    rule = rules.hospitalisation
    base = times_ratio(max(0, eligible - rule.deductible_fen), rule.ratio)
    calc.step(
        "base",
        f"基础补偿 = {rule.ratio * 100:.0f}% × max(0, {format_yuan(eligible)} − 起付线 "
        f"{format_yuan(rule.deductible_fen)}) = {format_yuan(base)}",
        base,
        ratio=str(rule.ratio),
        deductible_fen=rule.deductible_fen,
    )
    if base <= 0:
        return 0
    floor = min(rule.minimum_fen, eligible)
    payout = max(base, floor)
    if payout != base:
        calc.step(
            "minimum",
            f"最低补偿 {format_yuan(rule.minimum_fen)}（不超过合规费用）：补偿调整为 {format_yuan(payout)}",
            payout,
            minimum_fen=rule.minimum_fen,
        )
    return payout


def _critical_illness(facts: ClaimFacts, rules: PolicyRules, calc: Calculation) -> int:
    rule = rules.critical_illness
    code = facts.diagnosis_code.strip().upper()
    if not any(code.startswith(prefix) for prefix in rule.icd10_prefixes):
        calc.rejection = "诊断不在重大疾病目录内"
        calc.step("listed", calc.rejection, 0, diagnosis_listed=False)
        return 0
    if facts.critical_illness_used:
        calc.rejection = "本年度已获重大疾病补助（每年限一次）"
        calc.step("once_a_year", calc.rejection, 0)
        return 0
    calc.step("lump_sum", f"重大疾病定额补助 {format_yuan(rule.amount_fen)}", rule.amount_fen)
    return rule.amount_fen


def _hardship(facts: ClaimFacts, rules: PolicyRules, calc: Calculation) -> int:
    requested = facts.requested_fen or 0
    if requested < 0:
        raise ValidationFailed("申请金额不能为负数", code="negative_amount")
    amount = min(requested, rules.hardship.max_fen)
    calc.step(
        "hardship",
        f"特殊困难补助 = min(申请 {format_yuan(requested)}, 上限 {format_yuan(rules.hardship.max_fen)})"
        f" = {format_yuan(amount)}",
        amount,
        requested_fen=requested,
        max_fen=rules.hardship.max_fen,
    )
    return amount


def _apply_cap(amount: int, facts: ClaimFacts, rules: PolicyRules, calc: Calculation) -> int:
    remaining = max(0, rules.annual_cap_fen - facts.used_cap_fen)
    payout = min(amount, remaining)
    calc.step(
        "cap",
        f"年度封顶 {format_yuan(rules.annual_cap_fen)}，已使用 {format_yuan(facts.used_cap_fen)}，"
        f"剩余 {format_yuan(remaining)}：本次补偿 {format_yuan(payout)}",
        payout,
        annual_cap_fen=rules.annual_cap_fen,
        used_cap_fen=facts.used_cap_fen,
    )
    return payout
