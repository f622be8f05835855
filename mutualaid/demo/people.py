"""The demo's people: reviewers working through their queues, and members of the public objecting to notices.

They act through the same services the API calls, one committed decision at a time.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from models.approvals import ApprovalTask, DecisionIn, Outcome, TaskKind, TaskStatus
from models.base import utcnow
from models.notices import ObjectionIn
from models.org import OrgUnit
from models.users import User
from tasks.approval.decisions import decide, take_task
from tasks.approval.notice import client_key, posted_notices, raise_objection

REJECT_REASONS = [
    "发票与费用清单金额不符，无法核实",
    "住院期间非本单位在职职工，不符合补偿条件",
    "提交的出院小结与发票住院日期不一致",
]
RETURN_REASON = "请补充加盖医院公章的费用清单原件"
OBJECTION_TEXT = "据了解该职工住院期间费用已由单位全额报销，请核实"
OBJECTION_OUTCOMES: list[tuple[Outcome, str | None]] = [
    (Outcome.DISMISS, "经核实，单位未报销该费用，异议不成立"),
    (Outcome.UPHOLD_REJECT, "经核实，费用已由单位全额报销，不予补偿"),
    (Outcome.UPHOLD_REVIEW, "报销情况需重新核对，退回重新审核"),
]


def _reviewers(session: Session) -> dict[tuple[int, int], list[User]]:
    """The demo's reviewers by (level, org unit)."""
    reviewers: dict[tuple[int, int], list[User]] = {}
    for user in session.exec(select(User).where(col(User.org_unit_id).is_not(None)).order_by(col(User.id))).all():
        if user.review_level:
            reviewers.setdefault((user.review_level, user.org_unit_id or 0), []).append(user)
    return reviewers


def _outcome(task: ApprovalTask) -> tuple[Outcome, str | None] | None:
    """What the demo's reviewer decides on a task; None: it stays on their desk."""
    claim_id = task.claim_id or 0
    if task.kind == TaskKind.OBJECTION_REVIEW:
        return OBJECTION_OUTCOMES[(task.objection_id or 0) % len(OBJECTION_OUTCOMES)]
    if claim_id % 41 == 11 and task.level == 2:
        return None  # still on a county reviewer's desk: the deadline sweep reminds, then escalates it
    if claim_id % 13 == 3 and task.level == 1:
        return Outcome.REJECT, REJECT_REASONS[claim_id % len(REJECT_REASONS)]
    if claim_id % 31 == 7 and task.level == 1:
        return Outcome.RETURN, RETURN_REASON
    return Outcome.APPROVE, None


def reviewers_decide(session: Session) -> dict[str, int]:
    """Demo reviewers work through their queues, level by level, through the same service the API uses."""
    counts = {str(o): 0 for o in Outcome} | {"left_open": 0}
    reviewers = _reviewers(session)
    for _round in range(4):  # L1, then the L2 tasks L1 approvals opened, then L3; objections after
        tasks = session.exec(
            select(ApprovalTask).where(ApprovalTask.status == TaskStatus.OPEN).order_by(col(ApprovalTask.id))
        ).all()
        for task in tasks:
            decision = _outcome(task)
            candidates = reviewers.get((task.level, task.org_unit_id), [])
            if decision is None or not candidates:
                counts["left_open"] += _round == 0
                continue
            outcome, reason = decision
            reviewer = candidates[(task.claim_id or 0) % len(candidates)]
            take_task(session=session, user=reviewer, task_id=task.id or 0)
            decide(
                session=session, user=reviewer, task_id=task.id or 0,
                decision=DecisionIn(outcome=outcome, reason=reason, version=task.version),
            )  # fmt: skip
            session.commit()
            counts[str(outcome)] += 1
    return {k: v for k, v in counts.items() if v}


def public_objects(session: Session, *, every: int = 15) -> int:
    """Members of the public object to some of the cases on the notice board (every `every`-th notice)."""
    notices, _total = posted_notices(session=session, as_of=utcnow(), limit=10_000)
    raised = 0
    for n, notice in enumerate(sorted(notices, key=lambda x: x.id or 0)):
        if n % every == every - 1:
            raise_objection(
                session=session, notice_no=notice.notice_no, data=ObjectionIn(text=OBJECTION_TEXT),
                sender_key=client_key(f"demo-visitor-{n}"), now=utcnow(),
            )  # fmt: skip
            session.commit()
            raised += 1
    return raised


def county_of(session: Session, unit_code: str) -> OrgUnit | None:
    """The county union of a grassroots unit."""
    unit = session.exec(select(OrgUnit).where(OrgUnit.code == unit_code)).first()
    return session.get(OrgUnit, unit.parent_id) if unit and unit.parent_id else None
