"""The benefit engine (DOMAIN 2.6): exact fen arithmetic, the minimum, the cap, refusals, routing."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import pytest

from models.claims_enums import BenefitType
from models.errors import ValidationFailed
from models.rules import PolicyRules, RoutingRule, mutual_aid_benefits
from tasks.claims.benefits import Calculation, ClaimFacts, calculate, required_levels, times_ratio

RULES = PolicyRules()
H = BenefitType.HOSPITALISATION
CI = BenefitType.CRITICAL_ILLNESS
SH = BenefitType.SPECIAL_HARDSHIP
CAP_TEXT = "本年度补偿已达封顶额"


def hosp(eligible_fen: int, **context: object) -> ClaimFacts:
    """Hospitalisation facts whose eligible amount is exactly eligible_fen (with every deduction used)."""
    basic, serious, other, self_paid = 123_456, 7_891, 1_234, 567
    return ClaimFacts(
        benefit_type=H,
        total_fen=eligible_fen + basic + serious + other + self_paid,
        basic_insurance_fen=basic,
        serious_illness_fen=serious,
        other_reimbursement_fen=other,
        self_paid_fen=self_paid,
        **context,  # type: ignore[arg-type]
    )


def with_benefit(key: str, **changes: object) -> PolicyRules:
    """The default rules with one benefit's settings changed."""
    benefits = mutual_aid_benefits()
    benefits[key] = benefits[key].model_copy(update=changes)
    return PolicyRules(benefits=benefits)


def step(calc: Calculation, code: str) -> dict[str, object]:
    found = [s for s in calc.steps if s["step"] == code]
    assert len(found) == 1, f"expected one {code!r} step in {calc.steps}"
    return found[0]


# --- times_ratio and rounding --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "ratio", "expected"),
    [
        (0, "0.70", 0),
        (1, "0.70", 1),  # 0.7 → 1
        (5, "0.70", 4),  # 3.5 → 4 (half up)
        (15, "0.70", 11),  # 10.5 → 11 (half even would give 10)
        (50015, "0.70", 35011),  # 35010.5 → 35011 (half even would give 35010)
        (10, "0.70", 7),
        (100000, "0.70", 70000),
        (3, "0.75", 2),  # 2.25 → 2
        (2, "0.75", 2),  # 1.5 → 2 (half even would also give 2)
        (6, "0.75", 5),  # 4.5 → 5 (half even would give 4)
        (714286, "0.70", 500000),
        (714287, "0.70", 500001),
    ],
)
def test_times_ratio_rounds_half_up_to_the_fen(amount: int, ratio: str, expected: int) -> None:
    assert times_ratio(amount, Decimal(ratio)) == expected
    assert isinstance(times_ratio(amount, Decimal(ratio)), int)


def test_half_up_differs_from_half_even_in_a_payout() -> None:
    # eligible 500.15 yuan: 70 % = 350.105 yuan = 35010.5 fen → 35011 (half even: 35010)
    calc = calculate(hosp(50015), RULES)
    assert calc.eligible_fen == 50015
    assert calc.payout_fen == 35011
    half_even = int((Decimal(50015) * Decimal("0.70")).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    assert half_even == 35010 != calc.payout_fen


def test_five_fen_base_rounds_to_four_and_minimum_gives_the_whole_eligible() -> None:
    calc = calculate(hosp(5), RULES)
    assert calc.eligible_fen == 5
    assert step(calc, "base")["result_fen"] == 4  # 3.5 fen → 4
    assert calc.payout_fen == 5  # minimum: min(300 yuan, eligible) = 5 fen > base
    assert calc.rejection is None


# --- eligible amount -----------------------------------------------------------------------------


def test_eligible_is_total_minus_every_deduction() -> None:
    facts = ClaimFacts(
        benefit_type=H,
        total_fen=1_000_000,
        basic_insurance_fen=400_000,
        serious_illness_fen=100_000,
        other_reimbursement_fen=50_000,
        self_paid_fen=50_001,
    )
    calc = calculate(facts, RULES)
    assert calc.eligible_fen == 399_999
    assert calc.payout_fen == 279_999  # 279999.3 → 279999
    assert step(calc, "eligible")["inputs"] == {
        "total_fen": 1_000_000,
        "basic_insurance_fen": 400_000,
        "serious_illness_fen": 100_000,
        "other_reimbursement_fen": 50_000,
        "self_paid_fen": 50_001,
    }


@pytest.mark.parametrize(
    ("eligible", "payout"),
    [
        (35_000, 30_000),  # eligible 350 → base 245 → at least 300
        (20_000, 20_000),  # eligible 200 → base 140 → at least min(300, 200) = 200
        (100_000, 70_000),  # eligible 1,000 → base 700 > 300
        (42_857, 30_000),  # base 29,999.9 → 30,000 anyway
        (42_858, 30_001),  # base 30,000.6 → 30,001
        (30_000, 30_000),
        (1, 1),  # base 0.7 → 1 > 0, minimum min(300, 0.01) = 0.01
        (0, 0),
    ],
)
def test_ratio_and_minimum(eligible: int, payout: int) -> None:
    calc = calculate(hosp(eligible), RULES)
    assert calc.eligible_fen == eligible
    assert calc.payout_fen == payout
    assert calc.rejection is None
    assert calc.required_levels == 2


def test_minimum_step_is_recorded_only_when_it_changes_the_payout() -> None:
    raised = calculate(hosp(35_000), RULES)
    assert step(raised, "minimum")["result_fen"] == 30_000
    plain = calculate(hosp(100_000), RULES)
    assert all(s["step"] != "minimum" for s in plain.steps)


def test_eligible_zero_pays_nothing_without_minimum() -> None:
    facts = ClaimFacts(benefit_type=H, total_fen=50_000, basic_insurance_fen=30_000, self_paid_fen=20_000)
    calc = calculate(facts, RULES)
    assert calc.eligible_fen == 0
    assert calc.payout_fen == 0
    assert all(s["step"] != "minimum" for s in calc.steps)


@pytest.mark.parametrize(
    "field",
    ["total_fen", "basic_insurance_fen", "serious_illness_fen", "other_reimbursement_fen", "self_paid_fen"],
)
def test_negative_input_is_invalid(field: str) -> None:
    values = {
        "total_fen": 100_000,
        "basic_insurance_fen": 0,
        "serious_illness_fen": 0,
        "other_reimbursement_fen": 0,
        "self_paid_fen": 0,
    }
    values[field] = -1
    with pytest.raises(ValidationFailed):
        calculate(ClaimFacts(benefit_type=H, **values), RULES)


@pytest.mark.parametrize(
    "deductions",
    [
        {"basic_insurance_fen": 100_001},
        {"serious_illness_fen": 50_000, "self_paid_fen": 50_001},
        dict.fromkeys(["basic_insurance_fen", "serious_illness_fen", "other_reimbursement_fen"], 25_000)
        | {"self_paid_fen": 25_001},
    ],
)
def test_eligible_below_zero_is_invalid(deductions: dict[str, int]) -> None:
    with pytest.raises(ValidationFailed):
        calculate(ClaimFacts(benefit_type=H, total_fen=100_000, **deductions), RULES)


# --- deductible ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deductible", "eligible", "base", "payout"),
    [
        (10_000, 150_000, 98_000, 98_000),  # 0.7 × (1,500 − 100) = 980
        (10_000, 50_000, 28_000, 30_000),  # base 280, minimum min(300, 500) = 300
        (10_000, 10_000, 0, 0),  # nothing above the deductible
        (10_000, 5_000, 0, 0),
        (10_000, 10_001, 1, 10_001),  # base 0.7 fen → 1 > 0, minimum min(300, 100.01)
        (0, 150_000, 105_000, 105_000),
    ],
)
def test_deductible(deductible: int, eligible: int, base: int, payout: int) -> None:
    rules = with_benefit(H, deductible_fen=deductible)
    calc = calculate(hosp(eligible), rules)
    assert step(calc, "base")["result_fen"] == base
    assert step(calc, "base")["inputs"]["deductible_fen"] == deductible  # type: ignore[index]
    assert calc.payout_fen == payout


# --- annual cap ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("eligible", "used", "payout"),
    [
        (1_000_000, 1_950_000, 50_000),  # remaining 500 → 500
        (1_000_000, 0, 700_000),
        (4_000_000, 0, 2_000_000),  # 28,000 capped at 20,000
        (100_000, 1_930_000, 70_000),  # exactly the remaining
        (100_000, 1_930_001, 69_999),
    ],
)
def test_annual_cap(eligible: int, used: int, payout: int) -> None:
    calc = calculate(hosp(eligible, used_cap_fen=used), RULES)
    assert calc.payout_fen == payout
    assert calc.rejection is None
    assert step(calc, "cap")["result_fen"] == payout


@pytest.mark.parametrize("used", [2_000_000, 2_000_001, 5_000_000])
def test_cap_used_up_pays_nothing_and_says_why(used: int) -> None:
    calc = calculate(hosp(1_000_000, used_cap_fen=used), RULES)
    assert calc.payout_fen == 0
    assert calc.rejection == CAP_TEXT


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("benefit", [H, CI, SH])
def test_not_covered_on_admission_is_refused(benefit: BenefitType) -> None:
    facts = ClaimFacts(
        benefit_type=benefit,
        total_fen=100_000,
        requested_fen=100_000,
        diagnosis_code="C34.9",
        covered_on_admission=False,
    )
    calc = calculate(facts, RULES)
    assert calc.payout_fen == 0
    assert calc.rejection and "保障期" in calc.rejection
    assert step(calc, "refused")["text"] == calc.rejection


@pytest.mark.parametrize("benefit", [H, CI, SH])
def test_after_the_deadline_is_refused(benefit: BenefitType) -> None:
    facts = ClaimFacts(
        benefit_type=benefit,
        total_fen=100_000,
        requested_fen=100_000,
        diagnosis_code="C34.9",
        within_deadline=False,
    )
    calc = calculate(facts, RULES)
    assert calc.payout_fen == 0
    assert calc.rejection and "期限" in calc.rejection and "365" in calc.rejection


# --- routing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("eligible", "payout", "levels"),
    [
        (714_286, 500_000, 2),  # exactly 5,000.00 → L1 + L2
        (714_287, 500_001, 3),  # 5,000.01 → L1 + L2 + L3
        (100_000, 70_000, 2),
        (4_000_000, 2_000_000, 3),
    ],
)
def test_routing_threshold(eligible: int, payout: int, levels: int) -> None:
    calc = calculate(hosp(eligible), RULES)
    assert calc.payout_fen == payout
    assert calc.required_levels == levels
    assert step(calc, "routing")["inputs"] == {"levels": levels}


@pytest.mark.parametrize(
    ("benefit", "payout", "levels"),
    [
        (H, 0, 2),
        (H, 500_000, 2),
        (H, 500_001, 3),
        (CI, 500_000, 2),
        (CI, 500_001, 3),
        (SH, 0, 3),
        (SH, 100, 3),
        (SH, 300_000, 3),
    ],
)
def test_required_levels(benefit: BenefitType, payout: int, levels: int) -> None:
    assert required_levels(benefit, payout, RULES) == levels


def test_routing_is_configuration() -> None:
    rules = with_benefit(SH, always_top_level=False).model_copy(
        update={"routing": RoutingRule(top_level_above_fen=100_000, base_levels=1)}
    )
    assert required_levels(H, 100_000, rules) == 1
    assert required_levels(H, 100_001, rules) == 3
    assert required_levels(SH, 50_000, rules) == 1


# --- critical illness ----------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["C34.9", "c50", " I21.0 ", "I63.9", "N18.5", "Z94.0"])
def test_critical_illness_on_the_list_pays_the_lump_sum(code: str) -> None:
    calc = calculate(ClaimFacts(benefit_type=CI, diagnosis_code=code), RULES)
    assert calc.payout_fen == 500_000
    assert calc.rejection is None
    assert calc.required_levels == 2


@pytest.mark.parametrize("code", ["J18.9", "I10", "N18.4", "", "XC34"])
def test_critical_illness_not_on_the_list_is_refused(code: str) -> None:
    calc = calculate(ClaimFacts(benefit_type=CI, diagnosis_code=code), RULES)
    assert calc.payout_fen == 0
    assert calc.rejection and "目录" in calc.rejection


def test_second_critical_illness_in_a_year_is_refused() -> None:
    calc = calculate(ClaimFacts(benefit_type=CI, diagnosis_code="C34.9", times_used=1), RULES)
    assert calc.payout_fen == 0
    assert calc.rejection and "每年限 1 次" in calc.rejection


def test_critical_illness_is_within_the_cap() -> None:
    calc = calculate(ClaimFacts(benefit_type=CI, diagnosis_code="C34.9", used_cap_fen=1_800_000), RULES)
    assert calc.payout_fen == 200_000
    full = calculate(ClaimFacts(benefit_type=CI, diagnosis_code="C34.9", used_cap_fen=2_000_000), RULES)
    assert full.payout_fen == 0
    assert full.rejection == CAP_TEXT


def test_critical_illness_amount_and_list_are_configuration() -> None:
    rules = with_benefit(CI, amount_fen=800_000, icd10_prefixes=("J18",))
    assert calculate(ClaimFacts(benefit_type=CI, diagnosis_code="J18.9"), rules).payout_fen == 800_000
    assert calculate(ClaimFacts(benefit_type=CI, diagnosis_code="C34.9"), rules).payout_fen == 0


# --- special hardship ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "payout"),
    [(200_000, 200_000), (500_000, 300_000), (300_000, 300_000), (300_001, 300_000), (1, 1)],
)
def test_hardship_is_the_request_up_to_the_maximum_at_the_top_level(requested: int, payout: int) -> None:
    calc = calculate(ClaimFacts(benefit_type=SH, requested_fen=requested), RULES)
    assert calc.payout_fen == payout
    assert calc.rejection is None
    assert calc.required_levels == 3


def test_hardship_negative_request_is_invalid() -> None:
    with pytest.raises(ValidationFailed):
        calculate(ClaimFacts(benefit_type=SH, requested_fen=-1), RULES)


def test_hardship_maximum_is_configuration_and_within_the_cap() -> None:
    rules = with_benefit(SH, max_fen=150_000)
    assert calculate(ClaimFacts(benefit_type=SH, requested_fen=200_000), rules).payout_fen == 150_000
    capped = calculate(ClaimFacts(benefit_type=SH, requested_fen=200_000, used_cap_fen=1_900_000), RULES)
    assert capped.payout_fen == 100_000


# --- explanation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "facts",
    [
        hosp(35_000),
        hosp(100_000),
        hosp(0),
        hosp(1_000_000, used_cap_fen=2_000_000),
        hosp(100_000, covered_on_admission=False),
        hosp(100_000, within_deadline=False),
        ClaimFacts(benefit_type=CI, diagnosis_code="C34.9"),
        ClaimFacts(benefit_type=CI, diagnosis_code="J18.9"),
        ClaimFacts(benefit_type=CI, diagnosis_code="C34.9", times_used=1),
        ClaimFacts(benefit_type=SH, requested_fen=500_000),
    ],
)
def test_every_calculation_explains_each_step(facts: ClaimFacts) -> None:
    calc = calculate(facts, RULES)
    assert calc.steps
    for s in calc.steps:
        assert isinstance(s["step"], str) and s["step"]
        assert isinstance(s["text"], str) and s["text"].strip()
        assert isinstance(s["inputs"], dict)
    assert calc.steps[-1]["step"] == "routing"


def test_hospitalisation_explanation_shows_the_arithmetic() -> None:
    calc = calculate(hosp(35_000), RULES)
    codes = [s["step"] for s in calc.steps]
    assert codes == ["eligible", "base", "minimum", "cap", "routing"]
    assert "350.00" in str(step(calc, "eligible")["text"])
    assert "70%" in str(step(calc, "base")["text"])
    assert step(calc, "base")["result_fen"] == 24_500
    assert "300.00" in str(step(calc, "minimum")["text"])


# --- changed rules -------------------------------------------------------------------------------


def test_changed_rules_change_the_result() -> None:
    rules = with_benefit(H, ratio=Decimal("0.75")).model_copy(update={"annual_cap_fen": 3_000_000})
    assert calculate(hosp(1_000_000), RULES).payout_fen == 700_000
    assert calculate(hosp(1_000_000), rules).payout_fen == 750_000
    assert calculate(hosp(6), rules).payout_fen == 6  # the minimum still applies
    assert calculate(hosp(5_000_000), RULES).payout_fen == 2_000_000
    assert calculate(hosp(5_000_000), rules).payout_fen == 3_000_000
    assert calculate(hosp(1_000_000, used_cap_fen=2_500_000), rules).payout_fen == 500_000
    assert calculate(hosp(1_000_000, used_cap_fen=2_500_000), RULES).payout_fen == 0
    # the routing threshold applies to the payout under the new ratio
    assert calculate(hosp(666_667), rules).payout_fen == 500_000  # 500000.25 → 500000
    assert calculate(hosp(666_667), rules).required_levels == 2
    assert calculate(hosp(666_668), rules).payout_fen == 500_001
    assert calculate(hosp(666_668), rules).required_levels == 3


def test_changed_deadline_shows_in_the_refusal() -> None:
    rules = PolicyRules(filing_deadline_days=180)
    calc = calculate(hosp(100_000, within_deadline=False), rules)
    assert calc.rejection and "180" in calc.rejection


def test_calculate_is_pure() -> None:
    facts = hosp(123_457, used_cap_fen=10)
    first, second = calculate(facts, RULES), calculate(facts, RULES)
    assert first.payout_fen == second.payout_fen == 86_420  # 86419.9 → 86420
    assert first.steps == second.steps
