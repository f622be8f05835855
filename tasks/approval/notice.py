"""The public notice (公示, DOMAIN 2.7): post a finally approved claim, take objections, decide them, and let
claims whose notice passed become payable.

Posting happens in the transaction of the final approval, so a claim is never in notice without its notice.
An objection opens a task for the level that approved the claim (one task per objection). Upheld: the notice
is withdrawn, the claim's other open objections are closed and their tasks cancelled, and the claim is
rejected or reviewed again from the first level in a new round. Dismissed: the claim stays posted, and
becomes payable once its period is over and no objection is open.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func
from sqlmodel import Session, col, select

from core.settings import get_settings
from models.approvals import ApprovalTask, DecisionIn, Outcome, TaskKind, TaskStatus
from models.base import as_utc, utcnow
from models.claims import Claim, ClaimStatus
from models.errors import Conflict, NotFound, RateLimited
from models.events import ClaimRejected, ObjectionDismissed, ObjectionRaised, ObjectionUpheld
from models.members import Member
from models.notices import ClaimNotice, NoticeStatus, Objection, ObjectionForReviewer, ObjectionIn, ObjectionStatus
from models.notifications import Notification, NotificationKind
from models.org import OrgUnit
from models.programmes import PolicyYear
from models.rules import PolicyRules
from models.sql import id_in
from models.states import Actor, change_status, change_status_bulk, emit
from tasks.approval.routing import open_task
from tasks.common.masking import mask_name

OBJECTION_WINDOW = timedelta(hours=1)


def post_notice(
    *, session: Session, claim: Claim, rules: PolicyRules, approval_level: int, now: datetime
) -> ClaimNotice:
    """Put the finally approved claim on the public notice board for the year's notice days."""
    member = session.get(Member, claim.member_id)
    unit = session.get(OrgUnit, claim.org_unit_id)
    policy_year = session.get(PolicyYear, claim.policy_year_id)
    assert member is not None and unit is not None and policy_year is not None
    rule = rules.benefits.get(claim.benefit_type)
    notice = ClaimNotice(
        notice_no=f"GS{policy_year.year}-{claim.id:06d}-{claim.review_round}",
        claim_id=claim.id or 0,
        round=claim.review_round,
        policy_year_id=claim.policy_year_id,
        masked_name=mask_name(member.name),
        unit_name=unit.name,
        benefit_type=str(claim.benefit_type),
        benefit_label=rule.label_zh if rule is not None else str(claim.benefit_type),
        amount_fen=claim.payout_fen or 0,
        approval_level=approval_level,
        posted_at=now,
        ends_at=as_utc(now) + timedelta(days=rules.notice_days),
    )
    session.add(notice)
    session.flush()
    return notice


def posted_notices(
    *, session: Session, as_of: datetime, policy_year_id: int | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[ClaimNotice], int]:
    """The notices on the board now (posted, period not over), newest first, and how many there are."""
    conditions: list[Any] = [ClaimNotice.status == NoticeStatus.POSTED, col(ClaimNotice.ends_at) > as_of]
    if policy_year_id is not None:
        conditions.append(ClaimNotice.policy_year_id == policy_year_id)
    total = session.exec(select(func.count()).select_from(ClaimNotice).where(*conditions)).one()
    rows = session.exec(
        select(ClaimNotice)
        .where(*conditions)
        .order_by(col(ClaimNotice.posted_at).desc(), col(ClaimNotice.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(total)


def get_notice(*, session: Session, notice_no: str) -> ClaimNotice:
    """A notice by its public number (any status), or NotFound."""
    notice = session.exec(select(ClaimNotice).where(ClaimNotice.notice_no == notice_no)).first()
    if notice is None:
        raise NotFound(f"未找到公示 {notice_no}")
    return notice


def client_key(address: str) -> str:
    """A keyed hash of a sender's address: enough to count their objections, never the address itself."""
    secret = get_settings().secret_key.encode()
    return hmac.new(secret, address.encode(), hashlib.sha256).hexdigest()


def raise_objection(
    *, session: Session, notice_no: str, data: ObjectionIn, sender_key: str, now: datetime
) -> Objection:
    """Record an objection to a posted claim and open a task for the level that approved it."""
    notice = session.exec(select(ClaimNotice).where(ClaimNotice.notice_no == notice_no).with_for_update()).first()
    if notice is None or notice.status == NoticeStatus.WITHDRAWN:
        raise NotFound(f"未找到公示 {notice_no}")
    if notice.status != NoticeStatus.POSTED or as_utc(notice.ends_at) <= as_utc(now):
        raise Conflict("公示期已结束，不再受理异议", code="notice_over")
    _check_rate(session, sender_key, now)
    objection = Objection(
        reference=f"YY{secrets.token_hex(6).upper()}", notice_id=notice.id or 0, claim_id=notice.claim_id,
        text=data.text, contact=data.contact, client_key=sender_key, submitted_at=now,
    )  # fmt: skip
    session.add(objection)
    session.flush()
    claim = session.get(Claim, notice.claim_id)
    assert claim is not None and claim.id is not None and objection.id is not None
    task = open_task(
        session=session, claim=claim, level=notice.approval_level, kind=TaskKind.OBJECTION_REVIEW,
        objection_id=objection.id, now=now,
    )  # fmt: skip
    session.add(
        Notification(
            kind=NotificationKind.OBJECTION_RAISED, recipient_org_id=task.org_unit_id,
            recipient_level=task.level, task_id=task.id, claim_id=claim.id,
            message=f"公示 {notice.notice_no} 收到异议，请核实处理", created_at=now,
        )
    )  # fmt: skip
    emit(session, ObjectionRaised(objection_id=objection.id, claim_id=claim.id, task_id=task.id))
    session.flush()
    return objection


def _check_rate(session: Session, sender_key: str, now: datetime) -> None:
    """RateLimited once a sender has sent the hour's allowance of objections."""
    recent = session.exec(
        select(func.count())
        .select_from(Objection)
        .where(Objection.client_key == sender_key, col(Objection.submitted_at) > as_utc(now) - OBJECTION_WINDOW)
    ).one()
    if recent >= get_settings().objection_limit_per_hour:
        raise RateLimited("提交过于频繁，请稍后再试", retry_after=int(OBJECTION_WINDOW.total_seconds()))


def get_objection(*, session: Session, reference: str) -> Objection:
    """An objection by the reference its sender was given, or NotFound."""
    objection = session.exec(select(Objection).where(Objection.reference == reference)).first()
    if objection is None:
        raise NotFound(f"未找到异议 {reference}")
    return objection


def objection_for_reviewer(*, session: Session, task: ApprovalTask) -> ObjectionForReviewer:
    """The objection behind an objection task, as the reviewers deciding it see it."""
    objection = session.get(Objection, task.objection_id) if task.objection_id is not None else None
    if objection is None or objection.id is None:
        raise NotFound(f"任务 {task.id} 不是公示异议任务")
    notice = session.get(ClaimNotice, objection.notice_id)
    assert notice is not None
    return ObjectionForReviewer(
        id=objection.id, reference=objection.reference, notice_no=notice.notice_no,
        status=ObjectionStatus(objection.status), text=objection.text, contact=objection.contact,
        submitted_at=as_utc(objection.submitted_at),
    )  # fmt: skip


def decide_objection(*, session: Session, task: ApprovalTask, decision: DecisionIn, actor: Actor) -> None:
    """Apply the approving level's decision on an objection (the task is already completed)."""
    objection = session.get(Objection, task.objection_id, with_for_update=True)
    claim = session.get(Claim, task.claim_id, with_for_update=True)
    assert objection is not None and claim is not None
    notice = session.get(ClaimNotice, objection.notice_id)
    assert notice is not None
    now = utcnow()
    decided: dict[str, Any] = {
        "objection_id": objection.id or 0, "claim_id": claim.id or 0, "task_id": task.id or 0, "decided_at": now
    }  # fmt: skip
    if decision.outcome == Outcome.DISMISS:
        change_status(session, objection, ObjectionStatus.DISMISSED, actor=actor, reason=decision.reason,
                      values={"decided_at": now})  # fmt: skip
        emit(session, ObjectionDismissed(**decided))
        return
    if claim.status != ClaimStatus.IN_NOTICE or notice.status != NoticeStatus.POSTED:
        raise Conflict(f"案件状态为 {claim.status}，异议不能再改变它")
    change_status(session, objection, ObjectionStatus.UPHELD, actor=actor, reason=decision.reason,
                  values={"decided_at": now})  # fmt: skip
    _withdraw(session=session, notice=notice, except_objection=objection.id or 0, actor=actor, reason=decision.reason)
    emit(session, ObjectionUpheld(**decided, outcome=str(decision.outcome)))
    if decision.outcome == Outcome.UPHOLD_REJECT:
        change_status(
            session, claim, ClaimStatus.REJECTED, actor=actor, reason=decision.reason, action="claim.objection_upheld",
            values={"rejection_reason": decision.reason, "decided_at": now, "notice_ends_at": None},
        )  # fmt: skip
        emit(session, ClaimRejected(**decided, reason=decision.reason))
        return
    change_status(
        session, claim, ClaimStatus.IN_REVIEW, actor=actor, reason=decision.reason, action="claim.review_again",
        values={"review_round": claim.review_round + 1, "notice_ends_at": None, "decided_at": None},
    )  # fmt: skip
    open_task(session=session, claim=claim, level=1, now=now, unit_path=task.unit_path)


def _withdraw(
    *, session: Session, notice: ClaimNotice, except_objection: int, actor: Actor, reason: str | None
) -> None:
    """Take the notice down; close the claim's other open objections and cancel their tasks."""
    change_status(session, notice, NoticeStatus.WITHDRAWN, actor=actor, reason=reason)
    others = list(
        session.exec(
            select(Objection.id).where(
                Objection.notice_id == notice.id,
                Objection.status == ObjectionStatus.OPEN,
                Objection.id != except_objection,
            )
        ).all()
    )
    if not others:
        return
    closed = change_status_bulk(session, Objection, [i for i in others if i], ObjectionStatus.CLOSED, actor=actor,
                                reason="公示已撤回")  # fmt: skip
    tasks = session.exec(select(ApprovalTask.id).where(col(ApprovalTask.objection_id).in_(closed))).all()
    change_status_bulk(session, ApprovalTask, [t for t in tasks if t], TaskStatus.CANCELLED, actor=actor,
                       reason="公示已撤回")  # fmt: skip


def release_notices(*, session: Session, as_of: datetime, actor: Actor, limit: int = 5000) -> int:
    """Claims whose notice period ended by as_of with no objection open become payable; their notices pass."""
    open_objection = exists().where(
        col(Objection.claim_id) == col(Claim.id), col(Objection.status) == ObjectionStatus.OPEN
    )
    ids = [
        i
        for i in session.exec(
            select(Claim.id)
            .where(Claim.status == ClaimStatus.IN_NOTICE, col(Claim.notice_ends_at) <= as_of, ~open_objection)
            .order_by(col(Claim.id))
            .limit(limit)
        ).all()
        if i
    ]
    moved = change_status_bulk(session, Claim, ids, ClaimStatus.PAYABLE, actor=actor)
    if moved:
        notices = session.exec(
            select(ClaimNotice.id).where(
                id_in(session, col(ClaimNotice.claim_id), moved), ClaimNotice.status == NoticeStatus.POSTED
            )
        ).all()
        change_status_bulk(session, ClaimNotice, [n for n in notices if n], NoticeStatus.PASSED, actor=actor)
    return len(moved)
