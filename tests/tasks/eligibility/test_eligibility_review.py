"""The human eligibility queue uses the claim-approval task mechanics: take, decide, 409 on conflict."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from models.approvals import ApprovalTask, DecisionIn, Outcome, TaskKind
from models.enrolments import Enrolment, EnrolmentKind, EnrolmentStatus
from models.errors import Conflict, NotFound, ValidationFailed
from models.members import Member
from tasks.approval.decisions import decide, take_task
from tasks.approval.queue import TaskSearch, search_tasks
from tasks.eligibility.checks import check_enrolments
from tests.factories import build_world, id_number


def needs_review(session: Session):  # type: ignore[no-untyped-def]
    """A member enrolled directly at county union X01: the automatic rules cannot decide."""
    world = build_world(session)
    member = Member(
        name="王五", id_number=id_number(1), birth_date=date(1980, 5, 17), sex="M", employment_status="in_service",
        org_unit_id=world.counties[0].id or 0,
    )  # fmt: skip
    session.add(member)
    session.flush()
    enrolment = Enrolment(
        member_id=member.id or 0, policy_year_id=world.policy_year.id or 0, org_unit_id=world.counties[0].id or 0,
        kind=EnrolmentKind.NEW, contribution_fen=9500,
    )  # fmt: skip
    session.add(enrolment)
    session.flush()
    check_enrolments(session=session, enrolment_ids=[enrolment.id or 0])
    session.commit()
    task = session.exec(select(ApprovalTask).where(ApprovalTask.kind == TaskKind.ELIGIBILITY_REVIEW)).one()
    return world, enrolment, task


def test_county_reviewer_sees_takes_and_approves(session: Session) -> None:
    world, enrolment, task = needs_review(session)
    reviewer = world.user("l2_a")
    assert [row.task.id for row in search_tasks(session=session, user=reviewer, search=TaskSearch()).rows] == [task.id]
    take_task(session=session, user=reviewer, task_id=task.id or 0)
    decide(
        session=session,
        user=reviewer,
        task_id=task.id or 0,
        decision=DecisionIn(outcome=Outcome.APPROVE, version=task.version),
    )
    session.commit()
    assert session.get(Enrolment, enrolment.id).status == EnrolmentStatus.ELIGIBLE  # type: ignore[union-attr]


def test_reject_records_the_reason_and_return_is_refused(session: Session) -> None:
    world, enrolment, task = needs_review(session)
    reviewer = world.user("l2_a")
    with pytest.raises(ValidationFailed):
        decide(session=session, user=reviewer, task_id=task.id or 0,
               decision=DecisionIn(outcome=Outcome.RETURN, reason="补材料", version=task.version))  # fmt: skip
    session.rollback()
    decide(session=session, user=reviewer, task_id=task.id or 0,
           decision=DecisionIn(outcome=Outcome.REJECT, reason="非本地区工会会员", version=task.version))  # fmt: skip
    session.commit()
    stored = session.get(Enrolment, enrolment.id)
    assert stored is not None and (stored.status, stored.reason) == (EnrolmentStatus.INELIGIBLE, "非本地区工会会员")


def test_other_county_cannot_see_it_and_a_second_taker_gets_conflict(session: Session) -> None:
    world, _enrolment, task = needs_review(session)
    with pytest.raises(NotFound):
        take_task(session=session, user=world.user("l2_b"), task_id=task.id or 0)
    session.rollback()
    take_task(session=session, user=world.user("l2_a"), task_id=task.id or 0)
    session.commit()
    with pytest.raises(Conflict):
        take_task(session=session, user=world.user("l2_a2"), task_id=task.id or 0)
    session.rollback()
