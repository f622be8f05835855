"""The claim checks of adjudication at their boundaries (DOMAIN 2.5-2.6, issue 4 item 5), through the real
services on a real database: coverage on the admission date, the filing deadline, duplicate invoices,
the annual cap across a member's claims, times per year, benefits outside the cap, and a year without cap.

Claims are filed with tasks.claims.submission.submit_claim, calculated with tasks.claims.adjudication.adjudicate_claims,
routed with route_claims and granted by real reviewers' decisions (tasks.approval.decisions.decide). The one thing
set by hand is a claim's `submitted_at` where a test needs a filing day other than today's clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from core.storage.base import ObjectStore
from models.approvals import ApprovalTask, DecisionIn, Outcome, TaskStatus
from models.audit import AuditEvent
from models.base import as_utc
from models.claims import Claim, ClaimInput, ClaimStatus
from models.claims_enums import BenefitType, DocumentType
from models.enrolments import Enrolment, EnrolmentStatus
from models.members import EmploymentStatus, Member, Sex
from models.programmes import PolicyYear
from models.states import Actor
from tasks.approval.decisions import decide
from tasks.approval.routing import route_claims
from tasks.claims.adjudication import adjudicate_claims
from tasks.claims.benefits import CAP_REACHED
from tasks.common.programmes import change_rules, merged_rules, open_policy_year
from tasks.common.workdays import task_deadlines
from tasks.eligibility.checks import check_enrolments, pending_enrolment_ids
from tasks.registration.roster_import import import_roster
from tests.factories import World, build_world, id_number
from tests.tasks.claims.test_claims import (
    COVERED_FROM,
    HEADER,
    documents,
    enrol_members,
    file_claim,
    hospital_claim,
)

NOT_COVERED = "入院（事由发生）日期不在保障期内"
LISTED = "C34.9"
REVIEWERS = {1: "l1_a", 2: "l2_a", 3: "l3"}  # G11 → X01 → C01
CARD_DOCS = (DocumentType.ID_CARD, DocumentType.BANK_CARD)
CRITICAL_DOCS = (DocumentType.ID_CARD, DocumentType.DIAGNOSIS_CERTIFICATE, DocumentType.BANK_CARD)


# --- helpers -------------------------------------------------------------------------------------


def costing(eligible: str, *, admission: date = date(2026, 5, 1), invoice: str = "FP1", **kw: str) -> ClaimInput:
    """A hospital stay whose eligible amount is `eligible` yuan (total twice that, basic insurance half)."""
    total = Decimal(eligible) * 2
    return hospital_claim(
        admission=admission, discharge=admission + timedelta(days=5), invoice=invoice, total=str(total),
        basic=str(total - Decimal(eligible)), self_paid="0", **kw,
    )  # fmt: skip


def critical(on: date = date(2026, 6, 1), code: str = LISTED) -> ClaimInput:
    """A critical-illness claim (lump sum 5,000.00 for a listed diagnosis)."""
    return ClaimInput(benefit_type=BenefitType.CRITICAL_ILLNESS, admission_date=on, diagnosis_code=code)


def hardship(amount: str, on: date = date(2026, 6, 1)) -> ClaimInput:
    """A special-hardship claim for `amount` yuan."""
    return ClaimInput(benefit_type=BenefitType.SPECIAL_HARDSHIP, admission_date=on, requested_amount=Decimal(amount))


class Filer:
    """Files claims for a world's members, each with its own documents; optionally as if on another day."""

    def __init__(self, session: Session, store: ObjectStore, world: World) -> None:
        self.session, self.store, self.world, self.seed = session, store, world, 1000

    def __call__(
        self,
        member: Member,
        data: ClaimInput,
        *,
        filed_on: date | None = None,
        docs: Sequence[DocumentType] | None = None,
    ) -> Claim:
        """File the claim as if handed in at noon (UTC) on `filed_on` (default: ten days after the event)."""
        self.seed += 1
        if docs is None and data.benefit_type != BenefitType.HOSPITALISATION:
            docs = CRITICAL_DOCS if data.benefit_type == BenefitType.CRITICAL_ILLNESS else CARD_DOCS
        uploads = documents(self.seed) if docs is None else documents(self.seed, docs)
        filed_on = filed_on or data.end_date + timedelta(days=10)
        claim = file_claim(self.session, self.store, self.world, member, data, uploads, today=filed_on)
        noon = datetime.combine(filed_on, time(12), UTC)
        self.session.execute(update(Claim).where(col(Claim.id) == claim.id).values(submitted_at=noon))
        self.session.commit()
        return claim


def fresh(session: Session, claim: Claim) -> Claim:
    """The claim as the database has it now."""
    session.expire_all()
    found = session.get(Claim, claim.id)
    assert found is not None
    return found


def adjudicate(session: Session, *claims: Claim) -> tuple[int, int]:
    """Calculate the claims as one chunk and commit; (calculated, rejected)."""
    counts = adjudicate_claims(session=session, claim_ids=[c.id or 0 for c in claims])
    session.commit()
    return counts.calculated, counts.rejected


def grant(session: Session, world: World, claim: Claim) -> Claim:
    """Calculate, route and approve the claim at every level it needs, by real reviewers; it ends in notice."""
    adjudicate(session, claim)
    assert route_claims(session=session, claim_ids=[claim.id or 0]) == 1
    session.commit()
    levels = fresh(session, claim).required_levels or 0
    for level in range(1, levels + 1):
        task = session.exec(
            select(ApprovalTask).where(
                ApprovalTask.claim_id == claim.id, ApprovalTask.level == level, ApprovalTask.status == TaskStatus.OPEN
            )
        ).one()
        decide(
            session=session,
            user=world.user(REVIEWERS[level]),
            task_id=task.id or 0,
            decision=DecisionIn(outcome=Outcome.APPROVE, version=task.version),
        )
        session.commit()
    granted = fresh(session, claim)
    assert granted.status == ClaimStatus.IN_NOTICE, granted.rejection_reason
    return granted


def steps(claim: Claim) -> list[str]:
    return [s["step"] for s in claim.explanation]


def step(claim: Claim, name: str) -> dict[str, object]:
    return next(s for s in claim.explanation if s["step"] == name)


def set_rules(session: Session, world: World, changes: dict[str, object]) -> None:
    """Change this year's rules through the product's service (a new kept version)."""
    rules = merged_rules(world.policy_year.policy(), changes)
    change_rules(session=session, policy_year=world.policy_year, rules=rules, actor=Actor(None, "test"))
    session.commit()


def assert_refused(session: Session, claim: Claim, reason: str) -> Claim:
    """The claim is rejected with `reason`, payout 0, and its audit event records the same reason."""
    claim = fresh(session, claim)
    assert claim.status == ClaimStatus.REJECTED
    assert claim.rejection_reason == reason
    assert claim.decided_at is not None
    event = session.exec(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "claim", AuditEvent.entity_id == claim.id)
        .order_by(col(AuditEvent.id).desc())
    ).first()
    assert event is not None
    assert (event.from_state, event.to_state, event.reason) == (ClaimStatus.SUBMITTED, ClaimStatus.REJECTED, reason)
    return claim


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)


@pytest.fixture
def members(session: Session, world: World) -> list[Member]:
    """Three first-time members of G11, paid on 2026-01-05: covered 2026-04-05 to 2026-12-31."""
    return enrol_members(session, world, [1, 2, 3])


@pytest.fixture
def file(session: Session, store: ObjectStore, world: World) -> Filer:
    return Filer(session, store, world)


# --- coverage on the admission date --------------------------------------------------------------


@pytest.mark.parametrize(
    ("admission", "covered"),
    [
        (COVERED_FROM - timedelta(days=1), False),  # 2026-04-04: the day before coverage starts
        (COVERED_FROM, True),  # 2026-04-05: the first covered day
        (date(2026, 12, 31), True),  # the last covered day (coverage_end)
    ],
)
def test_coverage_on_the_admission_date(
    session: Session, members: list[Member], file: Filer, admission: date, covered: bool
) -> None:
    claim = file(members[0], costing("1000.00", admission=admission), filed_on=date(2027, 1, 10))
    assert adjudicate(session, claim) == ((1, 0) if covered else (0, 1))
    if covered:
        claim = fresh(session, claim)
        assert claim.status == ClaimStatus.SUBMITTED
        assert claim.payout_fen == 70_000
    else:
        claim = assert_refused(session, claim, NOT_COVERED)
        assert claim.payout_fen == 0
        assert steps(claim)[-2:] == ["refused", "routing"]


def test_the_day_after_coverage_ends_is_not_covered(
    session: Session, world: World, members: list[Member], file: Filer
) -> None:
    # The next year is open, but the member has not enrolled in it: coverage ended on 2026-12-31.
    open_policy_year(session=session, programme=world.programme, year=2027)
    session.commit()
    last = file(members[0], costing("1000.00", admission=date(2026, 12, 31), invoice="A"), filed_on=date(2027, 1, 9))
    after = file(members[0], costing("1000.00", admission=date(2027, 1, 1), invoice="B"), filed_on=date(2027, 1, 9))
    assert adjudicate(session, last, after) == (1, 1)
    assert fresh(session, last).status == ClaimStatus.SUBMITTED
    assert fresh(session, after).enrolment_id is None
    assert_refused(session, after, NOT_COVERED)


def test_coverage_that_ended_mid_year_covers_its_last_day_only(
    session: Session, members: list[Member], file: Filer
) -> None:
    # A member whose coverage ended on 2026-09-30 (e.g. left the unit): the window itself is the rule.
    session.execute(
        update(Enrolment).where(col(Enrolment.member_id) == members[0].id).values(coverage_end=date(2026, 9, 30))
    )
    session.commit()
    last = file(members[0], costing("1000.00", admission=date(2026, 9, 30), invoice="A"))
    after = file(members[0], costing("1000.00", admission=date(2026, 10, 1), invoice="B"))
    assert adjudicate(session, after, last) == (1, 1)
    assert fresh(session, last).status == ClaimStatus.SUBMITTED
    assert_refused(session, after, NOT_COVERED)


def test_an_enrolment_that_is_not_paid_does_not_cover(
    session: Session, world: World, members: list[Member], file: Filer
) -> None:
    # Registered and found eligible at G12, but the unit never paid the contribution.
    lines = [HEADER, f"会员乙,{id_number(40)},13800000040,在职,G12,,"]
    import_roster(
        session=session, policy_year=world.policy_year, data="\n".join(lines).encode(), importer_scope_path=None
    )
    check_enrolments(
        session=session, enrolment_ids=pending_enrolment_ids(session=session, policy_year_id=world.policy_year.id or 0)
    )
    session.commit()
    unpaid = session.exec(select(Member).where(Member.id_number == id_number(40))).one()
    enrolment = session.exec(select(Enrolment).where(Enrolment.member_id == unpaid.id)).one()
    assert (enrolment.status, enrolment.coverage_start) == (EnrolmentStatus.ELIGIBLE, None)
    unpaid_claim = file(unpaid, costing("1000.00", invoice="U"))
    paid_claim = file(members[0], costing("1000.00", invoice="P"))
    assert adjudicate(session, unpaid_claim, paid_claim) == (1, 1)
    assert_refused(session, unpaid_claim, NOT_COVERED)


def test_a_member_without_an_enrolment_is_not_covered(
    session: Session, world: World, members: list[Member], file: Filer
) -> None:
    stranger = Member(
        name="未参保", id_number=id_number(41), birth_date=date(1980, 5, 17), sex=Sex.MALE,
        employment_status=EmploymentStatus.IN_SERVICE, org_unit_id=world.units[0].id or 0,
    )  # fmt: skip
    session.add(stranger)
    session.commit()
    claim = file(stranger, costing("1000.00"))
    assert claim.enrolment_id is None
    assert adjudicate(session, claim) == (0, 1)
    assert_refused(session, claim, NOT_COVERED)


# --- the filing deadline -------------------------------------------------------------------------


@pytest.mark.parametrize(("days", "in_time"), [(364, True), (365, True), (366, False)])
def test_filing_deadline_is_365_days_after_discharge(
    session: Session, members: list[Member], file: Filer, days: int, in_time: bool
) -> None:
    data = costing("1000.00", admission=date(2026, 4, 20))  # discharged 2026-04-25
    claim = file(members[0], data, filed_on=date(2026, 4, 25) + timedelta(days=days))
    assert adjudicate(session, claim) == ((1, 0) if in_time else (0, 1))
    if not in_time:
        assert_refused(session, claim, "超过申请期限（出院后365天内）")


def test_a_changed_filing_deadline_applies(session: Session, world: World, members: list[Member], file: Filer) -> None:
    set_rules(session, world, {"filing_deadline_days": 30})
    data = [costing("1000.00", admission=date(2026, 5, 1), invoice=f"D{i}") for i in range(2)]
    in_time = file(members[0], data[0], filed_on=date(2026, 5, 6) + timedelta(days=30))
    late = file(members[0], data[1], filed_on=date(2026, 5, 6) + timedelta(days=31))
    assert adjudicate(session, late, in_time) == (1, 1)
    assert fresh(session, in_time).rules_version == 2
    assert_refused(session, late, "超过申请期限（出院后30天内）")


# --- duplicate invoices --------------------------------------------------------------------------


def test_an_invoice_held_by_a_live_claim_at_the_same_hospital_refuses_the_later_claim(
    session: Session, world: World, members: list[Member], file: Filer
) -> None:
    first = file(members[0], costing("1000.00", invoice="FP-9"))
    adjudicate(session, first)
    route_claims(session=session, claim_ids=[first.id or 0])
    session.commit()
    assert fresh(session, first).status == ClaimStatus.IN_REVIEW
    same = file(members[1], costing("1000.00", invoice="FP-9"))
    elsewhere = file(members[1], costing("1000.00", invoice="FP-9", hospital="县人民医院"))
    several = file(
        members[2], costing("1000.00", invoice="FP-X").model_copy(update={"invoice_numbers": ["FP-8", "FP-9"]})
    )
    assert adjudicate(session, same, elsewhere, several) == (1, 2)
    assert_refused(session, same, "发票号 FP-9 已在其他在办案件中使用")
    assert_refused(session, several, "发票号 FP-9 已在其他在办案件中使用")
    assert fresh(session, elsewhere).status == ClaimStatus.SUBMITTED


def test_an_incomplete_claim_holds_its_invoice(session: Session, members: list[Member], file: Filer) -> None:
    incomplete = file(members[0], costing("1000.00", invoice="FP-INC"), docs=[DocumentType.INVOICE])
    assert fresh(session, incomplete).status == ClaimStatus.INCOMPLETE
    later = file(members[1], costing("1000.00", invoice="FP-INC"))
    assert adjudicate(session, later) == (0, 1)
    assert_refused(session, later, "发票号 FP-INC 已在其他在办案件中使用")


def test_the_invoice_of_a_rejected_claim_can_be_used_again(
    session: Session, members: list[Member], file: Filer
) -> None:
    early = file(members[0], costing("1000.00", admission=date(2026, 3, 1), invoice="FP-R"))  # before coverage
    assert adjudicate(session, early) == (0, 1)
    again = file(members[0], costing("1000.00", invoice="FP-R"))
    assert adjudicate(session, again) == (1, 0)


def test_two_claims_sharing_an_invoice_in_one_chunk_only_the_first_passes(
    session: Session, members: list[Member], file: Filer
) -> None:
    first = file(members[0], costing("1000.00", invoice="FP-S"))
    others = [file(members[2], costing("1000.00", invoice=f"FP-O{i}")) for i in range(3)]
    second = file(members[1], costing("1000.00", invoice="FP-S"))
    # handed over in any order, the earlier claim (by id) holds the invoice
    assert adjudicate(session, second, *others, first) == (4, 1)
    assert fresh(session, first).status == ClaimStatus.SUBMITTED
    assert_refused(session, second, "发票号 FP-S 已在其他在办案件中使用")


# --- the annual cap, times per year, benefits outside the cap -----------------------------------


def test_the_annual_cap_counts_granted_claims_lowers_then_refuses(
    session: Session, world: World, members: list[Member], file: Filer
) -> None:
    member, other = members[0], members[1]
    granted = grant(session, world, file(member, costing("20000.00", invoice="C1")))  # 14,000.00
    assert granted.payout_fen == 1_400_000
    pending = file(member, costing("10000.00", invoice="C2"))  # 7,000.00, only 6,000.00 left
    neighbour = file(other, costing("10000.00", invoice="C3"))  # another member's cap is untouched
    assert adjudicate(session, pending, neighbour) == (2, 0)
    pending = fresh(session, pending)
    assert pending.payout_fen == 600_000
    assert step(pending, "cap")["inputs"] == {
        "annual_cap_fen": 2_000_000, "used_cap_fen": 1_400_000, "remaining_fen": 600_000,
    }  # fmt: skip
    assert fresh(session, neighbour).payout_fen == 700_000
    grant(session, world, pending)
    last = file(member, costing("1000.00", invoice="C4"))
    assert adjudicate(session, last) == (0, 1)
    last = assert_refused(session, last, CAP_REACHED)
    assert last.payout_fen == 0
    assert step(last, "cap")["result_fen"] == 0


def test_claims_not_yet_granted_do_not_use_the_cap_at_adjudication(
    session: Session, members: list[Member], file: Filer
) -> None:
    # Both are calculated in full; final approval re-checks the cap
    # (tests/tasks/approval/test_final_approval_limits.py).
    a = file(members[0], costing("20000.00", invoice="N1"))
    b = file(members[0], costing("20000.00", invoice="N2"))
    assert adjudicate(session, a, b) == (2, 0)
    assert fresh(session, a).payout_fen == fresh(session, b).payout_fen == 1_400_000


def test_critical_illness_once_a_year(session: Session, world: World, members: list[Member], file: Filer) -> None:
    first = grant(session, world, file(members[0], critical(date(2026, 5, 1))))
    assert first.payout_fen == 500_000
    second = file(members[0], critical(date(2026, 8, 1)))
    someone_else = file(members[1], critical(date(2026, 8, 1)))
    assert adjudicate(session, second, someone_else) == (1, 1)
    second = assert_refused(session, second, "本年度已获重大疾病补助 1 次（每年限 1 次）")
    assert step(second, "times_per_year")["inputs"]["used"] == 1  # type: ignore[index]
    # the lump sum counted against the cap as well
    hospital = file(members[0], costing("30000.00", invoice="T1"))  # 21,000.00 → 15,000.00 left
    adjudicate(session, hospital)
    assert fresh(session, hospital).payout_fen == 1_500_000


def test_a_benefit_outside_the_annual_cap_is_not_capped(
    session: Session, world: World, members: list[Member], file: Filer
) -> None:
    set_rules(session, world, {"benefits": {"special_hardship": {"within_annual_cap": False}}})
    grant(session, world, file(members[0], costing("40000.00", invoice="F1")))  # 28,000.00 → the whole 20,000.00
    aid = file(members[0], hardship("3000.00"))
    stay = file(members[0], costing("1000.00", invoice="F2"))
    assert adjudicate(session, aid, stay) == (1, 1)
    aid = fresh(session, aid)
    assert aid.payout_fen == 300_000
    assert "no_cap" in steps(aid) and "cap" not in steps(aid)
    assert_refused(session, stay, CAP_REACHED)
    # and once granted, it does not use the cap of the member's later claims
    grant(session, world, aid)
    set_rules(session, world, {"annual_cap_fen": 2_100_000})
    stay2 = file(members[0], costing("1000.00", invoice="F3"))
    adjudicate(session, stay2)
    assert fresh(session, stay2).payout_fen == 70_000  # 1,000.00 of 21,000.00 left: hardship not counted


def test_a_year_without_an_annual_cap(session: Session, world: World, members: list[Member], file: Filer) -> None:
    set_rules(session, world, {"annual_cap_fen": None})
    assert world.policy_year.policy().annual_cap_fen is None
    first = grant(session, world, file(members[0], costing("40000.00", invoice="Y1")))
    assert first.payout_fen == 2_800_000  # 28,000.00: nothing caps it
    more = file(members[0], costing("10000.00", invoice="Y2"))
    assert adjudicate(session, more) == (1, 0)
    more = fresh(session, more)
    assert more.payout_fen == 700_000
    assert "no_cap" in steps(more)


# --- the chunk as a whole ------------------------------------------------------------------------


def test_a_chunk_updates_the_claims_this_session_holds_and_routes_by_unit(
    session: Session, world: World, file: Filer
) -> None:
    g11 = enrol_members(session, world, [50])[0]
    g21 = enrol_members(session, world, [51], unit_code="G21")[0]
    a = file(g11, costing("1000.00", invoice="U1"))
    b = file(g21, costing("8000.00", invoice="U2"))
    refused = file(g11, costing("1000.00", admission=date(2026, 1, 2), invoice="U3"))
    claims = [a, b, refused]
    counts = adjudicate_claims(session=session, claim_ids=[c.id or 0 for c in claims])
    assert (counts.calculated, counts.rejected) == (2, 1)
    # the objects loaded in this session follow the rows written in bulk, before any reload
    assert (a.payout_fen, a.required_levels, a.rules_version) == (70_000, 2, 1)
    assert (b.payout_fen, b.required_levels) == (560_000, 3)
    assert (refused.status, refused.rejection_reason) == (ClaimStatus.REJECTED, NOT_COVERED)
    assert route_claims(session=session, claim_ids=[c.id or 0 for c in claims]) == 2
    assert (a.status, a.current_level) == (ClaimStatus.IN_REVIEW, 1)
    session.commit()
    tasks = {t.claim_id: t for t in session.exec(select(ApprovalTask)).all()}
    assert set(tasks) == {a.id, b.id}
    assert tasks[a.id].org_unit_id == world.units[0].id
    assert tasks[b.id].org_unit_id == world.units[2].id
    assert all(t.level == 1 and t.status == TaskStatus.OPEN and t.due_at is not None for t in tasks.values())
    # the columns written in bulk are those open_task writes for one claim: paths, benefit type, deadlines
    rules = session.get_one(PolicyYear, a.policy_year_id).policy()
    for claim, unit in ((a, world.units[0]), (b, world.units[2])):
        task = tasks[claim.id]
        assert (task.org_path, task.unit_path, task.benefit_type) == (unit.path, unit.path, claim.benefit_type)
        assert (as_utc(task.due_at), as_utc(task.escalate_at)) == task_deadlines(rules, 1, as_utc(task.created_at))
    events = session.exec(
        select(AuditEvent.entity_id, AuditEvent.to_state).where(
            AuditEvent.entity_type == "claim", AuditEvent.to_state != ClaimStatus.SUBMITTED
        )
    ).all()
    assert sorted(events) == sorted(
        [(a.id, ClaimStatus.IN_REVIEW), (b.id, ClaimStatus.IN_REVIEW), (refused.id, ClaimStatus.REJECTED)]
    )
