"""Presenters of the reviewers' queue: a task (with what the queue shows of its claim) as the API shows it."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from api.presenters.common import utc, yuan
from models.approvals import ApprovalTask, TaskKind, TaskPublic, TaskStatus
from models.base import as_utc, utcnow
from models.claims import Claim
from tasks.approval.decisions import level_name
from tasks.approval.queue import TaskRow


def task_public(row: TaskRow, now: datetime | None = None) -> TaskPublic:
    """A queue row (task plus what it shows of its claim) as the API shows it."""
    task = row.task
    assert task.id is not None
    due = utc(task.due_at)
    # Built without validation: every value comes from the database row or is made here.
    return TaskPublic.model_construct(
        id=task.id,
        kind=TaskKind(task.kind),
        claim_id=task.claim_id,
        claim_reference=row.claim_reference,
        enrolment_id=task.enrolment_id,
        level=task.level,
        level_name=level_name(task.level),
        round=task.round,
        org_unit_id=task.org_unit_id,
        status=TaskStatus(task.status),
        version=task.version,
        assignee_id=task.assignee_id,
        due_at=due,
        created_at=as_utc(task.created_at),
        benefit_type=str(row.benefit_type) if row.benefit_type is not None else None,
        payout_yuan=yuan(row.payout_fen),
        objection_id=task.objection_id,
        escalate_at=utc(task.escalate_at),
        overdue=bool(
            due is not None and task.status in (TaskStatus.OPEN, TaskStatus.TAKEN) and due < (now or utcnow())
        ),
        reminded_at=utc(task.reminded_at),
        escalated_at=utc(task.escalated_at),
        escalated_to_id=task.escalated_to_id,
    )


def task_row(session: Session, task: ApprovalTask) -> TaskRow:
    """A single task with its claim's reference, benefit type and payout (the claim the request already
    loaded, when it did)."""
    claim = session.get(Claim, task.claim_id) if task.claim_id is not None else None
    if claim is None:
        return TaskRow(task, None, task.benefit_type, None)
    return TaskRow(task, claim.reference, str(claim.benefit_type), claim.payout_fen)
