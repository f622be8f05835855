"""What-if simulation (issue 4, item 6) over claims filed, calculated and decided by the real services.

The year below (rules: 70 %, at least 300, cap 20,000, critical illness 5,000 once a year), claims in
filing order, each decided before the next is filed:

    A1  member A  hospital, eligible 20,000   granted 14,000           (75 %: 15,000)
    A2  member A  hospital, eligible 16,000   granted  6,000 (cap)     (75 %, cap 30,000: 12,000)
    A3  member A  hospital, eligible  2,000   refused: cap reached     (75 %: 1,500, cap leaves 3,000)
    B1  member B  critical illness C34        granted  5,000
    B2  member B  critical illness again      refused: once a year
    C1  member C  hospital, eligible    400   granted    300 (minimum) (75 %: still 300)
    D1  member D  hospital, eligible 10,000   rejected by the L1 reviewer: left out
    E1  member E  hospital, eligible  1,000   granted    700           (75 %: 750)
    E2  member E  the same invoice as E1      refused: duplicate invoice, stays refused
    F1  member F  hospital, eligible  1,000   in review, calculated 700 (75 %: 750)
    G1  member G  admitted 2026-04-01, before cover starts on 2026-04-05: refused
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from core.storage.base import ObjectStore
from models.approvals import ApprovalTask, DecisionIn, Outcome, TaskStatus
from models.claims import BenefitType, Claim, ClaimInput, ClaimStatus
from models.claims_enums import DocumentType
from models.errors import ValidationFailed
from models.funds import FundSource
from models.members import Member
from models.states import Actor
from models.what_if import WhatIfReport
from tasks.approval.decisions import decide, take_task
from tasks.approval.routing import route_claims
from tasks.claims.adjudication import adjudicate_claims
from tasks.claims.what_if import simulate
from tasks.claims.what_if_report import claim_ratio
from tasks.common.programmes import change_rules, merged_rules
from tasks.funds.ledger import record_receipt
from tests.factories import World, build_world
from tests.tasks.claims.test_claims import HOSPITAL_DOCS, documents, enrol_members, file_claim, hospital_claim

CONTRIBUTIONS_FEN = 7 * 9_500  # seven members enrolled through their unit's payment
DONATION_FEN = 10_000_000
CHANGES = {"benefits": {"hospitalisation": {"ratio": "0.75"}}, "annual_cap_fen": 3_000_000}
CI_DOCS = (DocumentType.ID_CARD, DocumentType.DIAGNOSIS_CERTIFICATE, DocumentType.BANK_CARD)


def hospital(eligible: str, *, invoice: str, admission: date = date(2026, 5, 1)) -> ClaimInput:
    """A hospital stay whose eligible cost is `eligible` yuan (nothing paid by insurance)."""
    return hospital_claim(total=eligible, basic="0", self_paid="0", invoice=invoice, admission=admission)


def critical_illness() -> ClaimInput:
    return ClaimInput(
        benefit_type=BenefitType.CRITICAL_ILLNESS, admission_date=date(2026, 6, 1), diagnosis_code="C34.1"
    )


def review(session: Session, world: World, claim: Claim, *, reject_at: int | None = None, levels: int = 3) -> Claim:
    """Take the claim through the real approval levels: approve each (or reject at one), up to `levels`."""
    for level, name in enumerate(("l1_a", "l2_a", "l3")[: min(levels, claim.required_levels or 0)], start=1):
        user = world.user(name)
        task = session.exec(
            select(ApprovalTask).where(ApprovalTask.claim_id == claim.id, ApprovalTask.status == TaskStatus.OPEN)
        ).one()
        take_task(session=session, user=user, task_id=task.id or 0)
        outcome = Outcome.REJECT if reject_at == level else Outcome.APPROVE
        decision = DecisionIn(outcome=outcome, reason="材料不实" if reject_at == level else None, version=task.version)
        decide(session=session, user=user, task_id=task.id or 0, decision=decision)
        session.commit()
        if reject_at == level:
            break
    session.refresh(claim)
    return claim


class Year:
    """Files claims for the scenario's members and takes each as far as asked, one after another."""

    def __init__(self, session: Session, store: ObjectStore, world: World, members: list[Member]) -> None:
        self.session, self.store, self.world, self.members = session, store, world, members
        self.seed = 100

    def file(self, member: int, data: ClaimInput, *, filed_on: date | None = None) -> Claim:
        self.seed += 1
        docs = documents(self.seed, CI_DOCS if data.benefit_type == BenefitType.CRITICAL_ILLNESS else HOSPITAL_DOCS)
        claim = file_claim(self.session, self.store, self.world, self.members[member], data, docs)
        if filed_on is not None:  # as if handed in on that day
            stamp = datetime(filed_on.year, filed_on.month, filed_on.day, 2, tzinfo=UTC)
            self.session.execute(update(Claim).where(Claim.id == claim.id).values(submitted_at=stamp))  # type: ignore[arg-type]
            self.session.commit()
        return claim

    def adjudicate(self, claim: Claim) -> Claim:
        adjudicate_claims(session=self.session, claim_ids=[claim.id or 0])
        route_claims(session=self.session, claim_ids=[claim.id or 0])
        self.session.commit()
        self.session.refresh(claim)
        return claim

    def grant(self, member: int, data: ClaimInput, **kwargs: object) -> Claim:
        """File, calculate and approve at every level; returns the claim as decided (or refused)."""
        claim = self.adjudicate(self.file(member, data, **kwargs))  # type: ignore[arg-type]
        return review(self.session, self.world, claim) if claim.status == ClaimStatus.IN_REVIEW else claim


@pytest.fixture
def world(session: Session, monkeypatch: pytest.MonkeyPatch) -> World:
    return build_world(session)


@pytest.fixture
def scenario(session: Session, store: ObjectStore, world: World) -> dict[str, Claim]:
    members = enrol_members(session, world, [1, 2, 3, 4, 5, 6, 7])
    record_receipt(
        session=session, policy_year=world.policy_year, source=FundSource.DONATION, payer="某基金会",
        amount_fen=DONATION_FEN, received_on=date(2026, 2, 1), reference="DON-1",
    )  # fmt: skip
    session.commit()
    year = Year(session, store, world, members)
    claims = {
        "A1": year.grant(0, hospital("20000.00", invoice="A1")),
        "A2": year.grant(0, hospital("16000.00", invoice="A2")),
        "A3": year.grant(0, hospital("2000.00", invoice="A3")),
        "B1": year.grant(1, critical_illness()),
        "B2": year.grant(1, critical_illness()),
        "C1": year.grant(2, hospital("400.00", invoice="C1")),
    }
    claims["D1"] = review(
        session, world, year.adjudicate(year.file(3, hospital("10000.00", invoice="D1"))), reject_at=1
    )
    claims["E1"] = year.grant(4, hospital("1000.00", invoice="E-SAME"))
    claims["E2"] = year.grant(4, hospital("2000.00", invoice="E-SAME"))
    claims["F1"] = year.adjudicate(year.file(5, hospital("1000.00", invoice="F1")))
    claims["G1"] = year.grant(6, hospital("3500.00", invoice="G1", admission=date(2026, 4, 1)))
    return claims


def run(session: Session, world: World, changes: dict[str, object]) -> WhatIfReport:
    session.expire_all()
    return simulate(session=session, policy_year=world.policy_year, changes=changes)


def by_benefit(report: WhatIfReport, side: str) -> dict[str, tuple[int, int]]:
    figures = getattr(report, side)
    return {b.benefit_type: (b.claims, b.payouts_fen) for b in figures.by_benefit}


def test_the_scenario_is_what_the_services_decided(scenario: dict[str, Claim]) -> None:
    status = {name: (c.status, c.payout_fen) for name, c in scenario.items()}
    assert status["A1"] == (ClaimStatus.IN_NOTICE, 1_400_000)
    assert status["A2"] == (ClaimStatus.IN_NOTICE, 600_000)
    assert status["A3"][0] == status["B2"][0] == status["E2"][0] == status["G1"][0] == ClaimStatus.REJECTED
    assert status["B1"] == (ClaimStatus.IN_NOTICE, 500_000)
    assert status["C1"] == (ClaimStatus.IN_NOTICE, 30_000)
    assert status["D1"][0] == ClaimStatus.REJECTED
    assert status["E1"] == (ClaimStatus.IN_NOTICE, 70_000)
    assert status["F1"] == (ClaimStatus.IN_REVIEW, 70_000)


def test_ratio_75_and_cap_30000_projected_by_hand(session: Session, world: World, scenario: dict[str, Claim]) -> None:
    report = run(session, world, CHANGES)

    assert report.rules_version == 1
    assert {(c.path, c.before, c.after) for c in report.rules_changed} == {
        ("benefits.hospitalisation.ratio", "0.70", "0.75"),
        ("annual_cap_fen", 2_000_000, 3_000_000),
    }
    assert report.claims_considered == 10  # D1 left out: a reviewer rejected it
    assert report.claims_excluded_reviewer_rejected == 1
    assert report.claims_kept_refused == 1  # E2, the duplicate invoice
    assert report.claims_in_review == 1  # F1

    actual, projected = report.actual, report.projected
    assert (actual.claims_granted, actual.claims_refused) == (6, 4)
    assert actual.payouts_fen == 1_400_000 + 600_000 + 500_000 + 30_000 + 70_000 + 70_000 == 2_670_000
    assert actual.payouts_yuan == "26,700.00"
    assert by_benefit(report, "actual") == {
        "hospitalisation": (5, 2_170_000),
        "critical_illness": (1, 500_000),
        "special_hardship": (0, 0),
    }
    assert actual.members_at_cap == 1  # member A used the whole 20,000

    # A1 15,000 + A2 12,000 + A3 1,500 (granted now) + B1 5,000 + C1 300 + E1 750 + F1 750
    assert (projected.claims_granted, projected.claims_refused) == (7, 3)
    assert projected.payouts_fen == 3_530_000
    assert by_benefit(report, "projected") == {
        "hospitalisation": (6, 3_030_000),
        "critical_illness": (1, 500_000),
        "special_hardship": (0, 0),
    }
    assert projected.members_at_cap == 0  # member A: 28,500 of 30,000

    assert (report.payouts_up, report.payouts_down, report.payouts_unchanged) == (5, 0, 5)
    assert report.difference.payouts_fen == 860_000 and report.difference.payouts_yuan == "8,600.00"
    assert report.difference.claims_granted == 1 and report.difference.members_at_cap == -1


def test_fund_figures_beside_each_other(session: Session, world: World, scenario: dict[str, Claim]) -> None:
    report = run(session, world, CHANGES)

    assert report.contributions_fen == CONTRIBUTIONS_FEN
    assert report.receipts_fen == CONTRIBUTIONS_FEN + DONATION_FEN
    # nothing has been paid yet: the fund as disclosed
    assert report.paid_to_date_fen == 0 and report.disclosed_claim_ratio == Decimal(0)
    assert report.disclosed_fund_balance_fen == CONTRIBUTIONS_FEN + DONATION_FEN
    # like with like: both sides count every granted claim as if paid
    assert report.actual.fund_balance_fen == CONTRIBUTIONS_FEN + DONATION_FEN - 2_670_000
    assert report.actual.claim_ratio == Decimal("40.1504")  # 2,670,000 / 66,500, half up to 4 places
    assert report.projected.fund_balance_fen == CONTRIBUTIONS_FEN + DONATION_FEN - 3_530_000
    assert report.projected.claim_ratio == Decimal("53.0827")  # 3,530,000 / 66,500
    assert report.difference.fund_balance_fen == -860_000
    assert claim_ratio(3_530_000, CONTRIBUTIONS_FEN) == report.projected.claim_ratio
    assert claim_ratio(1, 0) == Decimal(0)


def test_unchanged_rules_reproduce_the_actual_payouts(
    session: Session, world: World, scenario: dict[str, Claim]
) -> None:
    report = run(session, world, {})

    assert report.rules_changed == []
    assert (report.payouts_up, report.payouts_down, report.payouts_unchanged) == (0, 0, 10)
    for field in ("claims_granted", "claims_refused", "payouts_fen", "by_benefit", "members_at_cap"):
        assert getattr(report.projected, field) == getattr(report.actual, field), field
    assert report.difference.payouts_fen == 0


def test_reviewer_rejected_claims_stay_out_whatever_the_rules(
    session: Session, world: World, scenario: dict[str, Claim]
) -> None:
    generous = {"annual_cap_fen": 10_000_000, "benefits": {"hospitalisation": {"ratio": "1"}}}
    report = run(session, world, generous)

    assert report.claims_considered == 10 and report.claims_excluded_reviewer_rejected == 1
    # D1 (eligible 10,000) would add 10,000 if it were counted; E2 (duplicate) stays refused
    assert report.projected.claims_refused == 3  # B2 (once a year), E2 (duplicate) and G1 (not covered)
    assert report.projected.payouts_fen == 2_000_000 + 1_600_000 + 200_000 + 500_000 + 40_000 + 100_000 + 100_000


def test_times_per_year_raised_grants_the_second_critical_illness(
    session: Session, world: World, scenario: dict[str, Claim]
) -> None:
    report = run(session, world, {"benefits": {"critical_illness": {"times_per_year": 2}}})

    assert by_benefit(report, "projected")["critical_illness"] == (2, 1_000_000)
    assert (report.payouts_up, report.payouts_down) == (1, 0)
    assert report.difference.payouts_fen == 500_000


def test_lower_cap_lowers_and_refuses(session: Session, world: World, scenario: dict[str, Claim]) -> None:
    report = run(session, world, {"annual_cap_fen": 1_500_000})

    # A1 14,000 unchanged; A2 lowered from 6,000 to the 1,000 the cap leaves; A3 still refused
    assert (report.payouts_up, report.payouts_down) == (0, 1)
    assert report.projected.payouts_fen == report.actual.payouts_fen - 500_000
    assert report.projected.members_at_cap == 1


def test_coverage_follows_a_changed_waiting_period(session: Session, world: World, scenario: dict[str, Claim]) -> None:
    # paid on 2026-01-05: 60 days' wait → covered from 2026-03-06, so G1 (admitted 2026-04-01) is covered
    shorter = run(session, world, {"waiting_days": 60})
    assert shorter.projected.claims_granted == shorter.actual.claims_granted + 1
    assert shorter.difference.payouts_fen == 245_000  # 70 % of 3,500
    # 120 days' wait → covered from 2026-05-05: every claim admitted on 2026-05-01 is refused
    longer = run(session, world, {"waiting_days": 120})
    assert by_benefit(longer, "projected")["hospitalisation"] == (0, 0)
    assert by_benefit(longer, "projected")["critical_illness"] == (1, 500_000)  # event on 2026-06-01


def test_filing_deadline_changed(session: Session, store: ObjectStore, world: World) -> None:
    members = enrol_members(session, world, [11])
    year = Year(session, store, world, members)
    discharged = date(2026, 5, 10)
    early = year.grant(0, hospital("1000.00", invoice="T1"), filed_on=date(2026, 6, 9))  # 30 days after
    late = year.grant(0, hospital("2000.00", invoice="T2"), filed_on=date(2026, 8, 18))  # 100 days after
    assert hospital("1.00", invoice="x").discharge_date == discharged
    assert early.status == late.status == ClaimStatus.IN_NOTICE

    assert run(session, world, {"filing_deadline_days": 100}).projected.payouts_fen == 70_000 + 140_000
    sixty = run(session, world, {"filing_deadline_days": 60})
    assert (sixty.projected.claims_granted, sixty.projected.payouts_fen) == (1, 70_000)
    assert sixty.payouts_down == 1
    assert run(session, world, {"filing_deadline_days": 29}).projected.claims_granted == 0


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"annual_cap_fen": -1}, "annual_cap_fen"),
        ({"benefits": {"hospitalisation": {"ratio": "1.5"}}}, "ratio"),
        ({"no_such_rule": 1}, "no_such_rule"),
        ({"benefits": {"hospitalisation": {"kind": "lump_sum", "ratio": "0.8"}}}, "hospitalisation"),
    ],
)
def test_invalid_changes_are_refused_with_the_reason(
    session: Session, world: World, changes: dict[str, object], expected: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        run(session, world, changes)
    assert caught.value.code == "invalid_rules"
    assert expected in caught.value.message


def test_changes_must_be_an_object(session: Session, world: World) -> None:
    with pytest.raises(ValidationFailed) as caught:
        run(session, world, ["annual_cap_fen", 1])  # type: ignore[arg-type]
    assert caught.value.code == "invalid_changes"


def test_an_empty_year_reports_zeros(session: Session, world: World) -> None:
    report = run(session, world, CHANGES)
    assert report.claims_considered == 0
    assert report.actual.payouts_fen == report.projected.payouts_fen == 0
    assert report.actual.claim_ratio == report.projected.claim_ratio == Decimal(0)


def test_chunks_give_the_same_report(session: Session, world: World, scenario: dict[str, Claim]) -> None:
    session.expire_all()
    whole = simulate(session=session, policy_year=world.policy_year, changes=CHANGES)
    small = simulate(session=session, policy_year=world.policy_year, changes=CHANGES, chunk=3)
    assert small == whole


def test_the_report_holds_no_personal_data(session: Session, world: World, scenario: dict[str, Claim]) -> None:
    text = run(session, world, CHANGES).model_dump_json()
    members = session.exec(select(Member)).all()
    for member in members:
        assert member.id_number not in text and member.name not in text
        assert not member.bank_card or member.bank_card not in text
    for secret in ("肺炎", "J18.9", "C34.1", "E-SAME"):
        assert secret not in text


def test_a_benefit_added_by_the_changes_is_listed_on_both_sides(session: Session, world: World) -> None:
    dental = {"kind": "requested", "label_zh": "牙科补助", "label_en": "Dental", "max_fen": 100_000}
    report = run(session, world, {"benefits": {"dental": dental}})
    assert [b.benefit_type for b in report.actual.by_benefit] == [b.benefit_type for b in report.projected.by_benefit]
    assert by_benefit(report, "actual")["dental"] == by_benefit(report, "projected")["dental"] == (0, 0)
    assert [c.path for c in report.rules_changed] == ["benefits.dental"]


def test_changes_are_laid_over_the_current_version(session: Session, world: World, scenario: dict[str, Claim]) -> None:
    current = world.policy_year.policy()
    eighty = merged_rules(current, {"benefits": {"hospitalisation": {"ratio": "0.80"}}})
    change_rules(session=session, policy_year=world.policy_year, rules=eighty, actor=Actor(None, "test"))
    session.commit()

    report = run(session, world, {"annual_cap_fen": 3_000_000})

    assert report.rules_version == 2
    assert report.claims_under_earlier_rules == 10  # calculated under version 1
    assert [c.path for c in report.rules_changed] == ["annual_cap_fen"]  # the 80 % is already the rule
    # A1 16,000 + A2 12,800 + A3 1,200 (cap 30,000 leaves 1,200) + B1 5,000 + C1 320 + E1 800 + F1 800
    assert report.projected.payouts_fen == 3_692_000
