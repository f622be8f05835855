"""Multi-level approval (DOMAIN 2.7): open level tasks, the reviewer's queue, take / release / decide.

A decision is one transaction: the task is completed with a version check (a loser gets Conflict), the
Decision row is inserted (unique per task, and per claim, round and person: four eyes in the database),
the claim moves on (next level, notice, rejection or return) and an outbox event is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.approvals import LEVEL_NAMES_ZH, ApprovalTask, Decision, DecisionIn, Outcome, TaskKind, TaskStatus
from models.audit import AuditEvent, OutboxMessage
from models.base import as_utc, utcnow
from models.claims import Claim, ClaimStatus
from models.enrolments import Enrolment, EnrolmentStatus
from models.errors import Conflict, Forbidden, NotFound, ValidationFailed
from models.members import Member
from models.org import OrgLevel, OrgUnit
from models.programmes import PolicyYear
from models.rules import PolicyRules
from models.states import Actor, change_status
from models.users import User
from tasks.benefits import CAP_REACHED
from tasks.explain import describe
from tasks.limits import Usage, usage_of
from tasks.orgs import under
from tasks.workdays import due_at

LEVEL_ORG = {1: OrgLevel.GRASSROOTS, 2: OrgLevel.COUNTY, 3: OrgLevel.CITY}


def actor_of(user: User) -> Actor:
    """The audit actor for a user."""
    return Actor(user.id, user.username)


# --- opening tasks -------------------------------------------------------------------------------


def level_org_id(*, session: Session, unit: OrgUnit, level: int, cache: dict[tuple[int, int], int]) -> int:
    """The org unit that owns `level` for a claim of `unit` (its grassroots, county or city union)."""
    key = (unit.id or 0, level)
    if key not in cache:
        ids = [int(p) for p in unit.path.strip("/").split("/") if p]
        found = session.exec(
            select(OrgUnit.id).where(col(OrgUnit.id).in_(ids), OrgUnit.level == LEVEL_ORG[level])
        ).first()
        if found is None:
            raise ValidationFailed(f"{unit.name} 缺少第{level}级审批单位")
        cache[key] = found
    return cache[key]


def open_level_task(
    *, session: Session, claim: Claim, level: int, cache: dict[tuple[int, int], int] | None = None
) -> ApprovalTask:
    """Create the review task of `level` for the claim's current round."""
    unit = session.get(OrgUnit, claim.org_unit_id)
    policy_year = session.get(PolicyYear, claim.policy_year_id)
    assert unit is not None and policy_year is not None
    rules = policy_year.policy()
    now = utcnow()
    task = ApprovalTask(
        kind=TaskKind.CLAIM_REVIEW,
        claim_id=claim.id,
        level=level,
        round=claim.review_round,
        org_unit_id=level_org_id(session=session, unit=unit, level=level, cache=cache if cache is not None else {}),
        due_at=due_at(now, rules.routing.due_working_days.get(level, 5), holidays=rules.holidays),
        created_at=now,
    )
    session.add(task)
    claim.current_level = level
    session.flush()
    return task


def start_review(
    *, session: Session, claim: Claim, actor: Actor, cache: dict[tuple[int, int], int] | None = None
) -> None:
    """Route a submitted claim: open its first-level task and mark it in review."""
    open_level_task(session=session, claim=claim, level=1, cache=cache)
    change_status(session, claim, ClaimStatus.IN_REVIEW, actor=actor, data={"required_levels": claim.required_levels})


# --- the queue -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskRow:
    """A task with what the queue shows of its claim."""

    task: ApprovalTask
    claim_reference: str | None
    benefit_type: str | None
    payout_fen: int | None


def _visible(user: User):  # type: ignore[no-untyped-def]
    """Tasks this user may see: their level (claims) inside their org subtree."""
    in_subtree = under(user.org_unit_id)
    level_ok = (ApprovalTask.kind == TaskKind.ELIGIBILITY_REVIEW) | (ApprovalTask.level == (user.review_level or -1))
    return in_subtree & level_ok


def list_tasks(
    *,
    session: Session,
    user: User,
    status: TaskStatus | None = None,
    mine: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> list[TaskRow]:
    """The reviewer's queue: open tasks of their level in their subtree (and those they hold), by due date."""
    if user.review_level is None:
        return []
    stmt = (
        select(ApprovalTask, Claim.reference, Claim.benefit_type, Claim.payout_fen)
        .join(OrgUnit, OrgUnit.id == ApprovalTask.org_unit_id)  # type: ignore[arg-type]
        .outerjoin(Claim, Claim.id == ApprovalTask.claim_id)  # type: ignore[arg-type]
        .where(_visible(user))
    )
    if mine:
        stmt = stmt.where(ApprovalTask.assignee_id == user.id, ApprovalTask.status == TaskStatus.TAKEN)
    elif status is not None:
        stmt = stmt.where(ApprovalTask.status == status)
    else:
        stmt = stmt.where(col(ApprovalTask.status).in_([TaskStatus.OPEN, TaskStatus.TAKEN]))
    stmt = stmt.order_by(col(ApprovalTask.due_at), col(ApprovalTask.id)).limit(limit).offset(offset)
    return [TaskRow(t, ref, bt, payout) for t, ref, bt, payout in session.exec(stmt).all()]


def get_visible_task(*, session: Session, user: User, task_id: int, lock: bool = False) -> ApprovalTask:
    """The task if this user may see it; NotFound otherwise (never reveal another unit's task)."""
    stmt = (
        select(ApprovalTask)
        .join(OrgUnit, OrgUnit.id == ApprovalTask.org_unit_id)  # type: ignore[arg-type]
        .where(ApprovalTask.id == task_id, _visible(user))
    )
    if lock:
        stmt = stmt.with_for_update(of=ApprovalTask)  # type: ignore[arg-type]
    task = session.exec(stmt).first() if user.review_level is not None else None
    if task is None:
        raise NotFound(f"未找到任务 {task_id}")
    return task


def task_history(*, session: Session, task: ApprovalTask) -> list[AuditEvent]:
    """The audit events of a task, oldest first."""
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "approval_task", AuditEvent.entity_id == task.id)
            .order_by(col(AuditEvent.id))
        ).all()
    )


# --- take, release, decide -----------------------------------------------------------------------


def take_task(*, session: Session, user: User, task_id: int) -> ApprovalTask:
    """Assign the task to me; Conflict if someone else holds it or it is closed."""
    task = get_visible_task(session=session, user=user, task_id=task_id, lock=True)
    if task.status == TaskStatus.TAKEN and task.assignee_id == user.id:
        return task
    if task.status != TaskStatus.OPEN:
        raise Conflict("任务已被他人领取或已处理")
    _check_four_eyes(session=session, user=user, task=task)
    change_status(
        session, task, TaskStatus.TAKEN, actor=actor_of(user), values={"assignee_id": user.id, "taken_at": utcnow()}
    )
    return task


def release_task(*, session: Session, user: User, task_id: int) -> ApprovalTask:
    """Put a task I hold back in the queue."""
    task = get_visible_task(session=session, user=user, task_id=task_id, lock=True)
    if task.status != TaskStatus.TAKEN or task.assignee_id != user.id:
        raise Conflict("只能释放本人已领取的任务")
    change_status(session, task, TaskStatus.OPEN, actor=actor_of(user), values={"assignee_id": None, "taken_at": None})
    return task


def decide(*, session: Session, user: User, task_id: int, decision: DecisionIn) -> Decision:
    """Complete a task with a decision, if nobody else did first, and move the case on."""
    task = get_visible_task(session=session, user=user, task_id=task_id, lock=True)
    if task.status not in (TaskStatus.OPEN, TaskStatus.TAKEN):
        raise Conflict("任务已处理")
    if task.status == TaskStatus.TAKEN and task.assignee_id != user.id:
        raise Conflict("任务已被他人领取")
    if decision.version != task.version:
        raise Conflict("任务已变更，请刷新后重试")
    _check_four_eyes(session=session, user=user, task=task)
    actor = actor_of(user)
    seen_version = task.version
    change_status(
        session,
        task,
        TaskStatus.COMPLETED,
        actor=actor,
        reason=decision.reason,
        action=f"task.{decision.outcome}",
        values={"assignee_id": user.id, "completed_at": utcnow()},
    )
    record = Decision(
        task_id=task.id or 0,
        claim_id=task.claim_id,
        round=task.round,
        level=task.level,
        outcome=decision.outcome,
        reason=decision.reason,
        decided_by=user.id or 0,
        task_version=seen_version,
    )
    session.add(record)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("该任务或该案件本轮已由您处理") from None
    if task.kind == TaskKind.ELIGIBILITY_REVIEW:
        _apply_eligibility(session=session, task=task, decision=decision, actor=actor)
    else:
        _apply_claim(session=session, task=task, decision=decision, actor=actor)
    return record


def _check_four_eyes(*, session: Session, user: User, task: ApprovalTask) -> None:
    """Nobody decides a claim they filed, their own claim, or the same claim at two levels."""
    if task.claim_id is None:
        return
    claim = session.get(Claim, task.claim_id)
    assert claim is not None
    if claim.filed_by == user.id:
        raise Forbidden("不能审批本人经办提交的申请")
    if user.member_id is not None and user.member_id == claim.member_id:
        raise Forbidden("不能审批本人的申请")
    earlier = session.exec(
        select(Decision.id).where(
            Decision.claim_id == claim.id, Decision.round == task.round, Decision.decided_by == user.id
        )
    ).first()
    if earlier is not None:
        raise Forbidden("同一案件不能由同一人在两个层级审批")


def _apply_claim(*, session: Session, task: ApprovalTask, decision: DecisionIn, actor: Actor) -> None:
    claim = session.get(Claim, task.claim_id, with_for_update=True)
    assert claim is not None
    if claim.status != ClaimStatus.IN_REVIEW:
        raise Conflict(f"案件状态为 {claim.status}，不能审批")
    payload = {"claim_id": claim.id, "task_id": task.id, "level": task.level, "round": task.round}
    now = utcnow()
    if decision.outcome == Outcome.REJECT:
        change_status(
            session, claim, ClaimStatus.REJECTED, actor=actor, reason=decision.reason,
            values={"rejection_reason": decision.reason, "decided_at": now},
        )  # fmt: skip
        session.add(OutboxMessage(topic="ClaimRejected", payload=payload))
    elif decision.outcome == Outcome.RETURN:
        change_status(session, claim, ClaimStatus.RETURNED, actor=actor, reason=decision.reason)
        session.add(OutboxMessage(topic="ClaimReturned", payload=payload))
    elif task.level < (claim.required_levels or 1):
        open_level_task(session=session, claim=claim, level=task.level + 1)
        session.add(
            AuditEvent(
                actor_id=actor.user_id, actor_label=actor.label, entity_type="claim", entity_id=claim.id or 0,
                action="claim.level_approved", from_state=claim.status, to_state=claim.status,
                data={"level": task.level, "next_level": task.level + 1},
            )
        )  # fmt: skip
    else:
        _final_approval(session=session, claim=claim, actor=actor, payload=payload, now=now)


def _final_approval(*, session: Session, claim: Claim, actor: Actor, payload: dict[str, Any], now) -> None:  # type: ignore[no-untyped-def]
    """Re-check the year's limits (so two claims can never pass them together), then post the public notice."""
    # The member row lock comes before the usage is read: it serialises the final approvals of one member on
    # PostgreSQL (on SQLite every write transaction begins IMMEDIATE). Without it, or taken after the read,
    # tests/tasks/test_final_approval_limits.py fails on PostgreSQL.
    session.get(Member, claim.member_id, with_for_update=True)
    policy_year = session.get(PolicyYear, claim.policy_year_id)
    assert policy_year is not None
    rules = policy_year.policy()
    payout, refusal = recheck_limits(session=session, claim=claim, rules=rules)
    if refusal is None and payout <= 0:
        refusal = CAP_REACHED
    if refusal is not None:
        change_status(
            session, claim, ClaimStatus.REJECTED, actor=actor, reason=refusal,
            values={"rejection_reason": refusal, "decided_at": now, "payout_fen": 0},
        )  # fmt: skip
        session.add(OutboxMessage(topic="ClaimRejected", payload=payload))
        return
    change_status(
        session, claim, ClaimStatus.IN_NOTICE, actor=actor,
        values={"decided_at": now, "notice_ends_at": as_utc(now) + timedelta(days=rules.notice_days)},
        data={"payout_fen": payout},
    )  # fmt: skip
    session.add(OutboxMessage(topic="ClaimApproved", payload={**payload, "payout_fen": payout}))


def recheck_limits(*, session: Session, claim: Claim, rules: PolicyRules) -> tuple[int, str | None]:
    """The claim's payout after counting the member's granted claims again: lowered to what the annual
    cap leaves (recorded in the explanation), or refused (times per year used up). Lock the member first."""
    usage = usage_of(session=session, member_ids=[claim.member_id], exclude_claim_ids=[claim.id or 0]).get(
        (claim.member_id, claim.policy_year_id), Usage()
    )
    rule = rules.benefits.get(claim.benefit_type)
    if rule is not None and rule.times_per_year is not None and usage.times(claim.benefit_type) >= rule.times_per_year:
        inputs = {"label": rule.label_zh, "label_en": rule.label_en, "used": usage.times(claim.benefit_type),
                  "limit": rule.times_per_year}  # fmt: skip
        text = describe("times_per_year", inputs, 0)
        claim.explanation = [*claim.explanation, {"step": "times_per_year", "text": text, "inputs": inputs,
                                                  "result_fen": 0}]  # fmt: skip
        return 0, text
    payout = claim.payout_fen or 0
    if rules.annual_cap_fen is None or (rule is not None and not rule.within_annual_cap):
        return payout, None
    used = usage.used_cap_fen(rules)
    remaining = max(0, rules.annual_cap_fen - used)
    if payout > remaining:
        inputs = {"used_cap_fen": used, "remaining_fen": remaining}
        claim.explanation = [
            *claim.explanation,
            {"step": "cap_recheck", "text": describe("cap_recheck", inputs, remaining), "inputs": inputs,
             "result_fen": remaining},
        ]  # fmt: skip
        claim.payout_fen = payout = remaining
    return payout, None


def _apply_eligibility(*, session: Session, task: ApprovalTask, decision: DecisionIn, actor: Actor) -> None:
    enrolment = session.get(Enrolment, task.enrolment_id)
    assert enrolment is not None
    if decision.outcome == Outcome.RETURN:
        raise ValidationFailed("资格审核不能退回补充材料，请通过或不通过")
    to = EnrolmentStatus.ELIGIBLE if decision.outcome == Outcome.APPROVE else EnrolmentStatus.INELIGIBLE
    change_status(session, enrolment, to, actor=actor, reason=decision.reason, values={"reason": decision.reason})


def level_name(level: int) -> str:
    """The zh-CN name of an approval level."""
    return LEVEL_NAMES_ZH.get(level, f"第{level}级")
