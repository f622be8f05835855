"""Four eyes (DOMAIN 2.7): nobody decides a claim they filed, their own claim, or the same claim at two levels.

Each case twice: the service refuses with a reason (Forbidden), and a decision row written around the
service is refused by the database trigger (models.four_eyes), on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models.approvals import ApprovalTask, Decision, DecisionIn, Outcome
from models.claims import Claim
from models.errors import Forbidden
from models.four_eyes import is_four_eyes_violation
from models.users import Role, User
from tasks.approval.decisions import decide, take_task
from tests.api.conftest import ClaimMaker, task_of
from tests.factories import World


def approve(session: Session, user: User, task: ApprovalTask) -> None:
    """Decide `task` as `user` through the service and commit."""
    decide(
        session=session,
        user=user,
        task_id=task.id or 0,
        decision=DecisionIn(outcome=Outcome.APPROVE, version=task.version),
    )
    session.commit()


def write_decision_directly(session: Session, task: ApprovalTask, user: User) -> None:
    """A decision row written around the service, as a faulty script might."""
    session.add(
        Decision(task_id=task.id or 0, claim_id=task.claim_id, round=task.round, level=task.level,
                 outcome=Outcome.APPROVE, decided_by=user.id or 0, task_version=task.version)
    )  # fmt: skip
    session.flush()


def assert_refused_by_the_database(session: Session, task: ApprovalTask, user: User) -> None:
    with pytest.raises(IntegrityError) as caught:
        write_decision_directly(session, task, user)
    assert is_four_eyes_violation(caught.value)
    session.rollback()
    assert session.exec(select(Decision).where(Decision.task_id == task.id)).first() is None
    session.commit()


def test_the_filer_of_a_claim_may_not_decide_it(session: Session, world: World, make_claim: ClaimMaker) -> None:
    filer = world.user("l1_a")
    claim = make_claim(filed_by=filer.id)
    task = task_of(session, claim.id)
    with pytest.raises(Forbidden, match="本人经办"):
        take_task(session=session, user=filer, task_id=task.id or 0)
    session.rollback()
    with pytest.raises(Forbidden, match="本人经办"):
        approve(session, filer, task)
    session.rollback()
    assert_refused_by_the_database(session, task, filer)
    approve(session, world.user("l1_a2"), task_of(session, claim.id))  # a colleague may


def test_a_member_may_not_decide_their_own_claim(session: Session, world: World, make_claim: ClaimMaker) -> None:
    claim = make_claim()
    reviewer = session.get(User, world.user("l1_a").id)
    assert reviewer is not None
    reviewer.member_id = claim.member_id  # the reviewer is the member who claims
    session.commit()
    task = task_of(session, claim.id)
    with pytest.raises(Forbidden, match="本人的申请"):
        approve(session, reviewer, task)
    session.rollback()
    assert_refused_by_the_database(session, task, reviewer)


def test_one_person_decides_a_claim_at_one_level_only(session: Session, world: World, make_claim: ClaimMaker) -> None:
    claim = make_claim(payout_fen=350000)
    person = session.get(User, world.user("l1_a").id)
    assert person is not None
    approve(session, person, task_of(session, claim.id, 1))
    # the same person moves to the county union and meets the claim again at level 2
    person.role = Role.COUNTY_REVIEWER
    person.org_unit_id = world.counties[0].id
    session.commit()
    level2 = task_of(session, claim.id, 2)
    with pytest.raises(Forbidden, match="两个层级"):
        take_task(session=session, user=person, task_id=level2.id or 0)
    session.rollback()
    with pytest.raises(Forbidden, match="两个层级"):
        approve(session, person, level2)
    session.rollback()
    assert_refused_by_the_database(session, level2, person)
    approve(session, world.user("l2_a"), task_of(session, claim.id, 2))
    assert session.get(Claim, claim.id, populate_existing=True).status == "in_notice"  # type: ignore[union-attr]


def test_the_same_level_again_in_a_later_round_is_allowed(
    session: Session, world: World, make_claim: ClaimMaker
) -> None:
    """Four eyes is about levels: the L1 reviewer of round 1 may review round 2 at L1 after a resubmission."""
    claim = make_claim()
    reviewer = world.user("l1_a")
    task = task_of(session, claim.id, 1)
    decide(session=session, user=reviewer, task_id=task.id or 0,
           decision=DecisionIn(outcome=Outcome.RETURN, reason="缺费用清单", version=task.version))  # fmt: skip
    session.commit()
    stored = session.get(Claim, claim.id, populate_existing=True)
    assert stored is not None and stored.status == "returned"
    second = ApprovalTask(
        kind=task.kind, claim_id=claim.id, level=1, round=2, org_unit_id=task.org_unit_id, org_path=task.org_path,
    )  # fmt: skip
    session.add(second)
    session.flush()
    write_decision_directly(session, second, reviewer)  # the trigger lets it through
    session.rollback()
