"""Temporary assistance (临时救助, DOMAIN 2.6): a second programme shape expressed by configuration alone.

Categories and caps: living ≤ 700 per person per time and at most 2 times a year; emergency ≤ 20,000;
medical ≤ 20,000; education 1,000-3,000; other ≤ 3,500. The rules come from config/rules/.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import Session

from core.settings import PROJECT_ROOT
from core.storage.base import ObjectStore
from models.claims import Claim, ClaimInput, ClaimStatus
from models.claims_enums import DocumentType
from models.enrolments import Enrolment, EnrolmentKind, EnrolmentStatus
from models.errors import ValidationFailed
from models.members import EmploymentStatus, Member, Sex
from models.programmes import ProgrammeKind
from models.rules import PolicyRules
from models.states import Actor
from tasks.approval.routing import route_claims
from tasks.claims.adjudication import adjudicate_claims
from tasks.claims.benefits import ClaimFacts, calculate
from tasks.claims.documents import stored_documents
from tasks.claims.submission import submit_claim
from tasks.common.programmes import create_programme, open_policy_year
from tests.factories import World, build_world, id_number
from tests.tasks.claims.test_claims import documents

CONFIG = PROJECT_ROOT / "config" / "rules" / "temporary_assistance.json"
TA_DOCS = (DocumentType.ID_CARD, DocumentType.BANK_CARD, DocumentType.OTHER)


@pytest.fixture(scope="module")
def rules() -> PolicyRules:
    return PolicyRules.model_validate(json.loads(CONFIG.read_text(encoding="utf-8")))


def pay(rules: PolicyRules, category: str, requested_fen: int, **context: object) -> tuple[int, str | None]:
    calc = calculate(ClaimFacts(benefit_type=category, requested_fen=requested_fen, **context), rules)  # type: ignore[arg-type]
    return calc.payout_fen, calc.rejection


def test_the_categories_are_those_of_the_seed(rules: PolicyRules) -> None:
    assert set(rules.benefits) == {"living", "emergency", "medical", "education", "other"}
    assert rules.annual_cap_fen is None and rules.contribution_fen == 0


@pytest.mark.parametrize(
    ("category", "requested", "payout"),
    [
        ("living", 50_000, 50_000),
        ("living", 70_000, 70_000),
        ("living", 70_001, 70_000),  # 700.01 → 700 per time
        ("emergency", 2_000_000, 2_000_000),
        ("emergency", 2_500_000, 2_000_000),
        ("medical", 1_999_999, 1_999_999),
        ("medical", 9_000_000, 2_000_000),
        ("education", 100_000, 100_000),  # 1,000 is the least granted
        ("education", 300_000, 300_000),
        ("education", 300_001, 300_000),
        ("other", 350_000, 350_000),
        ("other", 350_001, 350_000),
    ],
)
def test_each_category_pays_the_request_within_its_cap(
    rules: PolicyRules, category: str, requested: int, payout: int
) -> None:
    assert pay(rules, category, requested) == (payout, None)


def test_education_below_its_minimum_is_refused(rules: PolicyRules) -> None:
    payout, reason = pay(rules, "education", 99_999)
    assert payout == 0
    assert reason and "最低标准" in reason and "1,000.00" in reason


@pytest.mark.parametrize(("used", "granted"), [(0, True), (1, True), (2, False), (3, False)])
def test_living_assistance_at_most_twice_a_year(rules: PolicyRules, used: int, granted: bool) -> None:
    payout, reason = pay(rules, "living", 70_000, times_used=used)
    assert (payout == 70_000) is granted
    if not granted:
        assert reason and "每年限 2 次" in reason


def test_other_categories_have_no_yearly_count_and_no_annual_cap(rules: PolicyRules) -> None:
    assert pay(rules, "medical", 2_000_000, times_used=9, used_cap_fen=50_000_000) == (2_000_000, None)


@pytest.mark.parametrize(("requested", "levels"), [(500_000, 2), (500_001, 3), (2_000_000, 3), (70_000, 2)])
def test_routing_by_amount(rules: PolicyRules, requested: int, levels: int) -> None:
    calc = calculate(ClaimFacts(benefit_type="medical", requested_fen=requested), rules)
    assert calc.required_levels == levels


def test_hospital_benefits_do_not_exist_in_this_programme(rules: PolicyRules) -> None:
    with pytest.raises(ValidationFailed):
        calculate(ClaimFacts(benefit_type="hospitalisation", total_fen=100_000), rules)


def _ta_member(session: Session, world: World, rules: PolicyRules, n: int) -> tuple[int, Member]:
    programme = create_programme(
        session=session, code="TA", name="职工临时救助", owner=world.city, kind=ProgrammeKind.TEMPORARY_ASSISTANCE
    )
    year = open_policy_year(session=session, programme=programme, year=2026, rules=rules)
    unit = world.units[0]
    member = Member(
        name="困难职工", id_number=id_number(n), birth_date=date(1980, 5, 17), sex=Sex.MALE,
        employment_status=EmploymentStatus.IN_SERVICE, org_unit_id=unit.id or 0,
    )  # fmt: skip
    session.add(member)
    session.flush()
    session.add(
        Enrolment(
            member_id=member.id or 0, policy_year_id=year.id or 0, org_unit_id=unit.id or 0, kind=EnrolmentKind.NEW,
            status=EnrolmentStatus.ACTIVE, contribution_fen=0, paid_on=date(2026, 1, 1),
            coverage_start=date(2026, 1, 1), coverage_end=date(2026, 12, 31),
        )
    )  # fmt: skip
    session.flush()
    return programme.id or 0, member


def test_a_temporary_assistance_claim_runs_through_the_same_services(
    session: Session, store: ObjectStore, rules: PolicyRules
) -> None:
    world = build_world(session)
    programme_id, member = _ta_member(session, world, rules, 901)
    admin = Actor(world.user("admin").id, "admin")
    filed = []
    for i in range(3):  # the third living assistance of the year is refused by the rules
        data = ClaimInput(benefit_type="living", admission_date=date(2026, 6, 1 + i), requested_amount=Decimal("800"))
        with stored_documents(store, documents(900 + i, TA_DOCS)) as stored:
            claim = submit_claim(
                session=session, member=member, programme_id=programme_id, data=data, documents=stored, actor=admin,
                today=date(2026, 7, 1),
            )  # fmt: skip
        assert claim.status == ClaimStatus.SUBMITTED, claim.missing_documents
        assert claim.hospital_tier is None and claim.discharge_date == data.admission_date
        filed.append(claim)
    session.commit()
    counts = adjudicate_claims(session=session, claim_ids=[c.id or 0 for c in filed])
    # nothing is granted yet, so all three are calculated; the yearly count is enforced at final approval
    assert counts.calculated == 3
    assert {c.payout_fen for c in filed} == {70_000}
    assert all(c.required_levels == 2 and c.rules_version == 1 for c in filed)
    assert route_claims(session=session, claim_ids=[c.id or 0 for c in filed]) == 3
    session.commit()
    assert all(session.get(Claim, c.id).status == ClaimStatus.IN_REVIEW for c in filed)  # type: ignore[union-attr]


def test_a_requested_amount_is_required_and_a_hospital_benefit_is_refused(session: Session, rules: PolicyRules) -> None:
    world = build_world(session)
    programme_id, member = _ta_member(session, world, rules, 902)
    admin = Actor(world.user("admin").id, "admin")
    for data, code in [
        (ClaimInput(benefit_type="living", admission_date=date(2026, 6, 1)), "requested_amount_missing"),
        (ClaimInput(benefit_type="hospitalisation", admission_date=date(2026, 6, 1)), "unknown_benefit_type"),
    ]:
        with pytest.raises(ValidationFailed) as caught:
            submit_claim(
                session=session, member=member, programme_id=programme_id, data=data, documents=[], actor=admin,
                today=date(2026, 7, 1),
            )  # fmt: skip
        assert caught.value.code == code
