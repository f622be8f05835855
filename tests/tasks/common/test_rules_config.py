"""Benefit rules as configuration: validation on load, the earlier shape, merges, kept versions."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlmodel import Session, col, select

from core.settings import PROJECT_ROOT
from models.audit import AuditEvent
from models.claims_enums import BenefitType, DocumentType, HospitalTier
from models.errors import ValidationFailed
from models.programmes import PolicyRulesVersion
from models.rules import LumpSumRule, PolicyRules, ReimbursementRule, RequestedAmountRule
from models.states import Actor
from tasks.claims.benefits import ClaimFacts, calculate
from tasks.common.programmes import change_rules, merged_rules, rules_versions, validated_rules
from tests.factories import build_world

CONFIG = PROJECT_ROOT / "config" / "rules"


def test_the_shipped_mutual_aid_file_is_the_default_rules() -> None:
    data = json.loads((CONFIG / "mutual_aid.json").read_text(encoding="utf-8"))
    assert PolicyRules.model_validate(data) == PolicyRules()


def test_default_benefits_are_the_three_of_the_domain() -> None:
    rules = PolicyRules()
    assert set(rules.benefits) == {"hospitalisation", "critical_illness", "special_hardship"}
    hospital = rules.benefits["hospitalisation"]
    assert isinstance(hospital, ReimbursementRule)
    assert (hospital.ratio, hospital.deductible_fen, hospital.minimum_fen) == (Decimal("0.70"), 0, 30000)
    critical = rules.benefits["critical_illness"]
    assert isinstance(critical, LumpSumRule) and critical.times_per_year == 1 and critical.amount_fen == 500000
    hardship = rules.benefits["special_hardship"]
    assert isinstance(hardship, RequestedAmountRule) and hardship.max_fen == 300000 and hardship.always_top_level
    assert rules.annual_cap_fen == 2_000_000


def test_rules_of_the_earlier_fixed_shape_are_read_into_benefits() -> None:
    old = {
        "annual_cap_fen": 2500000,
        "hospitalisation": {"ratio": "0.80", "deductible_fen": 10000, "minimum_fen": 20000},
        "critical_illness": {"amount_fen": 600000, "icd10_prefixes": ["C"]},
        "hardship": {"max_fen": 200000},
        "required_documents": {"special_hardship": ["id_card"]},
        "routing": {"top_level_above_fen": 400000, "always_top_level": []},
    }
    rules = PolicyRules.model_validate(old)
    hospital = rules.benefits["hospitalisation"]
    assert isinstance(hospital, ReimbursementRule)
    assert (hospital.ratio, hospital.deductible_fen, hospital.minimum_fen) == (Decimal("0.80"), 10000, 20000)
    critical = rules.benefits["critical_illness"]
    assert isinstance(critical, LumpSumRule) and critical.amount_fen == 600000 and critical.icd10_prefixes == ("C",)
    hardship = rules.benefits["special_hardship"]
    assert isinstance(hardship, RequestedAmountRule) and hardship.max_fen == 200000
    assert not hardship.always_top_level  # the old routing said so
    assert hardship.required_documents == (DocumentType.ID_CARD,)
    assert rules.routing.top_level_above_fen == 400000 and rules.annual_cap_fen == 2500000
    # and it now stores in the current shape, which reads back the same
    assert PolicyRules.model_validate(rules.model_dump(mode="json")) == rules


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"benefits": {"hospitalisation": {"kind": "reimbursement", "label_zh": "住院", "ratio": "1.2"}}}, "ratio"),
        ({"benefits": {"x": {"kind": "requested", "label_zh": "x", "min_fen": 500, "max_fen": 100}}}, "min_fen"),
        ({"benefits": {"x": {"kind": "lottery", "label_zh": "x"}}}, "kind"),
        ({"benefits": {"Living!": {"kind": "requested", "label_zh": "x", "max_fen": 100}}}, "benefit key"),
        ({"benefits": {}}, "benefits"),
        ({"annual_cap_fen": -1}, "annual_cap_fen"),
        ({"age_min": 80, "age_max": 70}, "age_min"),
        ({"surprise": 1}, "surprise"),
        ({"benefits": {"x": {"kind": "requested", "label_zh": "x", "max_fen": 100, "colour": "red"}}}, "colour"),
        (
            {"benefits": {"h": {"kind": "reimbursement", "label_zh": "h", "ratio_by_tier": {"tier9": "0.5"}}}},
            "tier9",
        ),
    ],
)
def test_invalid_rules_are_refused_naming_the_problem(data: dict[str, object], where: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validated_rules(data)
    assert caught.value.code == "invalid_rules"
    assert where in caught.value.message


def test_changes_merge_into_the_current_rules_key_by_key() -> None:
    rules = merged_rules(PolicyRules(), {"benefits": {"hospitalisation": {"ratio": "0.75"}}, "annual_cap_fen": 3000000})
    hospital = rules.benefits["hospitalisation"]
    assert isinstance(hospital, ReimbursementRule)
    assert hospital.ratio == Decimal("0.75")
    assert hospital.minimum_fen == 30000 and hospital.label_zh == "住院二次报销"  # untouched keys stay
    assert rules.annual_cap_fen == 3000000
    assert rules.benefits["critical_illness"] == PolicyRules().benefits["critical_illness"]
    with pytest.raises(ValidationFailed):
        merged_rules(PolicyRules(), {"benefits": {"hospitalisation": {"ratio": "2"}}})


def test_a_new_benefit_is_added_by_configuration_alone() -> None:
    rules = merged_rules(
        PolicyRules(),
        {"benefits": {"maternity": {"kind": "lump_sum", "label_zh": "生育慰问", "amount_fen": 100000}}},
    )
    calc = calculate(ClaimFacts(benefit_type="maternity", diagnosis_code="O80"), rules)
    assert calc.payout_fen == 100000 and calc.rejection is None


def test_ratio_per_hospital_tier_and_limit_per_claim() -> None:
    rules = merged_rules(
        PolicyRules(),
        {"benefits": {"hospitalisation": {"ratio_by_tier": {"community": "0.90"}, "max_per_claim_fen": 600000}}},
    )
    community = calculate(ClaimFacts("hospitalisation", total_fen=100_000, hospital_tier=HospitalTier.COMMUNITY), rules)
    tier3 = calculate(ClaimFacts("hospitalisation", total_fen=100_000, hospital_tier=HospitalTier.TIER3), rules)
    assert (community.payout_fen, tier3.payout_fen) == (90_000, 70_000)
    big = calculate(ClaimFacts("hospitalisation", total_fen=1_000_000), rules)
    assert big.payout_fen == 600_000
    assert [s["step"] for s in big.steps][-3:] == ["per_claim_max", "cap", "routing"]


def test_a_benefit_outside_the_annual_cap_and_a_year_without_one() -> None:
    outside = merged_rules(PolicyRules(), {"benefits": {"special_hardship": {"within_annual_cap": False}}})
    full = ClaimFacts("special_hardship", requested_fen=300_000, used_cap_fen=2_000_000)
    assert calculate(full, PolicyRules()).payout_fen == 0
    assert calculate(full, outside).payout_fen == 300_000
    no_cap = merged_rules(PolicyRules(), {"annual_cap_fen": None})
    calc = calculate(ClaimFacts("hospitalisation", total_fen=10_000_000, used_cap_fen=9_000_000), no_cap)
    assert calc.payout_fen == 7_000_000
    assert "no_cap" in [s["step"] for s in calc.steps]


def test_unknown_benefit_is_a_clear_error() -> None:
    with pytest.raises(ValidationFailed) as caught:
        calculate(ClaimFacts(benefit_type="lottery"), PolicyRules())
    assert caught.value.code == "unknown_benefit_type"


def test_a_change_of_rules_is_kept_as_a_new_audited_version(session: Session) -> None:
    world = build_world(session)
    year = world.policy_year
    assert year.rules_version == 1
    actor = Actor(world.user("admin").id, "admin")
    first = merged_rules(year.policy(), {"benefits": {"hospitalisation": {"ratio": "0.75"}}})
    change_rules(session=session, policy_year=year, rules=first, actor=actor, note="理事会决议 2026-3")
    second = merged_rules(year.policy(), {"annual_cap_fen": 3000000})
    change_rules(session=session, policy_year=year, rules=second, actor=actor)
    session.commit()

    assert year.rules_version == 3
    hospital = year.policy().benefits[BenefitType.HOSPITALISATION]
    assert isinstance(hospital, ReimbursementRule) and hospital.ratio == Decimal("0.75")
    assert year.policy().annual_cap_fen == 3000000
    versions = rules_versions(session=session, policy_year=year)
    assert [v.version for v in versions] == [1, 2, 3]
    assert versions[0].rules == PolicyRules().model_dump(mode="json")  # version 1 is kept as it was
    assert versions[1].note == "理事会决议 2026-3"
    events = session.exec(
        select(AuditEvent).where(AuditEvent.entity_type == "policy_year", AuditEvent.action == "rules.changed")
    ).all()
    assert [e.data["version"] for e in events] == [2, 3]
    count = session.exec(select(PolicyRulesVersion.id).where(col(PolicyRulesVersion.policy_year_id) == year.id))
    assert len(count.all()) == 3
