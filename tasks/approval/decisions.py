"""Multi-level approval (DOMAIN 2.7): take, release and decide tasks; four eyes; what a decision moves.

A decision is one transaction: the task is completed with a version check (a loser gets Conflict), the
Decision row is inserted (one per task; four eyes are checked here with a reason, and again by a database
trigger, models.four_eyes), the case moves on (next level, public notice, rejection, return, or the
objection's outcome) and a domain event (models.events) is emitted for the steps that follow (letters).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models.approvals import OUTCOMES_OF_KIND, ApprovalTask, Decision, DecisionIn, Outcome, TaskKind, TaskStatus
from models.base import utcnow
from models.claims import Claim, ClaimStatus
from models.enrolments import Enrolment, EnrolmentStatus
from models.errors import Conflict, Forbidden, ValidationFailed
from models.events import ClaimRejected, ClaimReturned
from models.four_eyes import is_four_eyes_violation
from models.states import Actor, change_status, emit, record_event
from models.users import User
from tasks.approval.final import DecidedBy, finalise
from tasks.approval.notice import decide_objection
from tasks.approval.routing import open_task
from tasks.common.access import get_visible_task
from tasks.common.labels import label
from tasks.common.users import actor_of

FILER = "不能审批本人经办提交的申请"
OWN_CLAIM = "不能审批本人的申请"
TWO_LEVELS = "同一案件不能由同一人在两个层级审批"
DECISION = Decision.__table__  # type: ignore[attr-defined]
DECISION_INSERT = insert(DECISION).returning(DECISION.c.id)


def take_task(*, session: Session, user: User, task_id: int) -> ApprovalTask:
    """Assign the task to me; Conflict if someone else holds it or it is closed."""
    task = get_visible_task(session=session, user=user, task_id=task_id, lock=True)
    if task.status == TaskStatus.TAKEN and task.assignee_id == user.id:
        return task
    if task.status != TaskStatus.OPEN:
        raise Conflict("任务已被他人领取或已处理")
    check_four_eyes(session=session, user=user, task=task)
    change_status(
        session, task, TaskStatus.TAKEN, actor=actor_of(user), values={"assignee_id": user.id, "taken_at": utcnow()}
    )
    return task


def release_task(*, session: Session, user: User, task_id: int) -> ApprovalTask:
    """Put a task back in the queue: one I hold, or (as the level's supervisor) one somebody else holds."""
    task = get_visible_task(session=session, user=user, task_id=task_id, lock=True)
    if task.status != TaskStatus.TAKEN:
        raise Conflict("只能释放已被领取的任务")
    if task.assignee_id != user.id and not user.is_supervisor:
        raise Conflict("只能释放本人已领取的任务")
    reason = None if task.assignee_id == user.id else "督办主管收回任务"
    change_status(
        session, task, TaskStatus.OPEN, actor=actor_of(user), reason=reason,
        values={"assignee_id": None, "taken_at": None},
    )  # fmt: skip
    return task


@dataclass(frozen=True)
class Decided:
    """A decision made: its record, the task it completed, and the claim it moved (none for an enrolment)."""

    record: Decision
    task: ApprovalTask
    claim: Claim | None


def decide(*, session: Session, user: User, task_id: int, decision: DecisionIn) -> Decided:
    """Complete a task with a decision, if nobody else did first, and move the case on."""
    task = get_visible_task(session=session, user=user, task_id=task_id, lock=True)
    _check_decidable(task, user, decision)
    # The claim is locked after its task (the order every path takes) and read once for all that follows.
    claim = session.get(Claim, task.claim_id, with_for_update=True) if task.claim_id is not None else None
    check_four_eyes(session=session, user=user, task=task, claim=claim, other_levels=False)
    actor = actor_of(user)
    seen_version = task.version
    change_status(
        session, task, TaskStatus.COMPLETED, actor=actor, reason=decision.reason, action=f"task.{decision.outcome}",
        values={"assignee_id": user.id, "completed_at": utcnow()},
    )  # fmt: skip
    record = _insert_decision(session, task, user, decision, seen_version)
    if task.kind == TaskKind.ELIGIBILITY_REVIEW:
        _apply_eligibility(session=session, task=task, decision=decision, actor=actor)
    elif task.kind == TaskKind.OBJECTION_REVIEW:
        decide_objection(session=session, task=task, decision=decision, actor=actor)
    else:
        assert claim is not None
        _apply_claim(session=session, task=task, claim=claim, decision=decision, actor=actor)
    return Decided(record, task, claim)


def _check_decidable(task: ApprovalTask, user: User, decision: DecisionIn) -> None:
    """The task is still undecided, not held by someone else, as the reviewer saw it, and the outcome fits it."""
    if task.status not in (TaskStatus.OPEN, TaskStatus.TAKEN):
        raise Conflict("任务已处理")
    if task.status == TaskStatus.TAKEN and task.assignee_id != user.id:
        raise Conflict("任务已被他人领取")
    if decision.version != task.version:
        raise Conflict("任务已变更，请刷新后重试")
    if decision.outcome not in OUTCOMES_OF_KIND[TaskKind(task.kind)]:
        allowed = "、".join(label("outcome", o) for o in sorted(OUTCOMES_OF_KIND[TaskKind(task.kind)]))
        raise ValidationFailed(
            f"{label('task_kind', task.kind)}只能作出以下决定：{allowed}", code="outcome_not_allowed"
        )


def _insert_decision(
    session: Session, task: ApprovalTask, user: User, decision: DecisionIn, seen_version: int
) -> Decision:
    """The decision row (one per task); the four-eyes trigger's refusal becomes Forbidden with its reason."""
    record = Decision(
        task_id=task.id or 0, claim_id=task.claim_id, round=task.round, level=task.level, outcome=decision.outcome,
        reason=decision.reason, decided_by=user.id or 0, task_version=seen_version, decided_at=utcnow(),
    )  # fmt: skip
    try:
        record.id = session.execute(DECISION_INSERT, record.model_dump(exclude={"id"})).scalar_one()
    except IntegrityError as error:
        if is_four_eyes_violation(error):
            raise Forbidden(four_eyes_reason(error)) from None
        raise Conflict("该任务已有决定") from None
    return record


def check_four_eyes(
    *, session: Session, user: User, task: ApprovalTask, claim: Claim | None = None, other_levels: bool = True
) -> None:
    """Nobody decides a claim they filed, their own claim, or the same claim at two levels (any round).

    A decision leaves the last rule to the database trigger it meets anyway (other_levels=False): one query
    less on the path of every decision, the same refusal and reason.
    """
    if task.claim_id is None:
        return
    claim = claim or session.get(Claim, task.claim_id)
    assert claim is not None
    if claim.filed_by == user.id:
        raise Forbidden(FILER)
    if user.member_id is not None and user.member_id == claim.member_id:
        raise Forbidden(OWN_CLAIM)
    if not other_levels:
        return
    other_level = session.exec(
        select(Decision.id).where(
            Decision.claim_id == claim.id, Decision.decided_by == user.id, Decision.level != task.level
        )
    ).first()
    if other_level is not None:
        raise Forbidden(TWO_LEVELS)


def four_eyes_reason(error: IntegrityError) -> str:
    """The reason, in the service's words, for the four-eyes trigger's refusal."""
    message = str(error.orig)
    if "filer" in message:
        return FILER
    if "own claim" in message:
        return OWN_CLAIM
    return TWO_LEVELS


def _apply_claim(*, session: Session, task: ApprovalTask, claim: Claim, decision: DecisionIn, actor: Actor) -> None:
    if claim.status != ClaimStatus.IN_REVIEW:
        raise Conflict(f"案件状态为 {claim.status}，不能审批")
    now = utcnow()
    decided = DecidedBy(claim_id=claim.id or 0, task_id=task.id, level=task.level, round=task.round, decided_at=now)
    if decision.outcome == Outcome.REJECT:
        change_status(
            session, claim, ClaimStatus.REJECTED, actor=actor, reason=decision.reason,
            values={"rejection_reason": decision.reason, "decided_at": now},
        )  # fmt: skip
        emit(session, ClaimRejected(**decided.fields(), reason=decision.reason))
    elif decision.outcome == Outcome.RETURN:
        change_status(session, claim, ClaimStatus.RETURNED, actor=actor, reason=decision.reason)
        emit(session, ClaimReturned(**decided.fields(), reason=decision.reason))
    elif task.level < (claim.required_levels or 1):
        open_task(session=session, claim=claim, level=task.level + 1, now=now, unit_path=task.unit_path)
        record_event(
            session,
            claim,
            "claim.level_approved",
            actor=actor,
            data={"level": task.level, "next_level": task.level + 1},
        )
    else:
        finalise(session=session, claim=claim, level=task.level, actor=actor, decided=decided, now=now)


def _apply_eligibility(*, session: Session, task: ApprovalTask, decision: DecisionIn, actor: Actor) -> None:
    enrolment = session.get(Enrolment, task.enrolment_id)
    assert enrolment is not None
    to = EnrolmentStatus.ELIGIBLE if decision.outcome == Outcome.APPROVE else EnrolmentStatus.INELIGIBLE
    change_status(session, enrolment, to, actor=actor, reason=decision.reason, values={"reason": decision.reason})


def level_name(level: int) -> str:
    """The zh-CN name of an approval level."""
    return label("task_level", level)
