"""Reading the audit log: a claim's timeline (the claim, its approval tasks and its payments) and a task's history.

Who may read them is the caller's question (tasks.common.access); these only read.
"""

from __future__ import annotations

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from models.approvals import ApprovalTask
from models.audit import AuditEvent
from models.claims import Claim
from models.payments import Payment


def claim_timeline(*, session: Session, claim: Claim) -> list[AuditEvent]:
    """The audit events of the claim, its approval tasks and its payments, oldest first."""
    task_ids = select(ApprovalTask.id).where(ApprovalTask.claim_id == claim.id)
    payment_ids = select(Payment.id).where(Payment.claim_id == claim.id)
    kind, entity = col(AuditEvent.entity_type), col(AuditEvent.entity_id)
    stmt = (
        select(AuditEvent)
        .where(
            or_(
                and_(kind == "claim", entity == claim.id),
                and_(kind == "approval_task", entity.in_(task_ids)),
                and_(kind == "payment", entity.in_(payment_ids)),
            )
        )
        .order_by(col(AuditEvent.occurred_at), col(AuditEvent.id))
    )
    return list(session.exec(stmt).all())


def task_history(*, session: Session, task: ApprovalTask) -> list[AuditEvent]:
    """The audit events of a task, oldest first."""
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "approval_task", AuditEvent.entity_id == task.id)
            .order_by(col(AuditEvent.id))
        ).all()
    )
