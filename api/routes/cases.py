"""Case tracking for administrators, auditors and reviewers: where a claim stands, and its timeline.

Administrators and auditors see every claim; a reviewer sees the claims of their org subtree only (any
other claim is a 404, never data); everybody else gets 403 (tasks.common.access, through api.deps.CaseClaim).
The answers never carry the member's ID number, bank card or diagnosis.
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from api.deps import CaseClaim, CaseClaimByReference, LanguageDep, SessionDep
from api.presenters.claims import claim_public
from api.presenters.common import audit_public
from api.schemas import ClaimStatusPublic
from models.approvals import ApprovalTask
from models.audit import AuditEvent, AuditEventPublic
from models.claims import Claim
from models.payments import Payment

router = APIRouter(prefix="/api/claims", tags=["cases"])


def claim_timeline(session: Session, claim: Claim) -> list[AuditEvent]:
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


@router.get("/by-reference/{reference}", response_model=ClaimStatusPublic)
def claim_by_reference(claim: CaseClaimByReference, language: LanguageDep) -> ClaimStatusPublic:
    """Where a claim stands, by the reference the member quotes."""
    return claim_public(claim, language)


@router.get("/{claim_id}", response_model=ClaimStatusPublic)
def claim_status(claim: CaseClaim, language: LanguageDep) -> ClaimStatusPublic:
    """Where a claim stands."""
    return claim_public(claim, language)


@router.get("/{claim_id}/timeline", response_model=list[AuditEventPublic])
def timeline(session: SessionDep, claim: CaseClaim) -> list[AuditEventPublic]:
    """Every recorded change of the claim, its tasks and its payments, oldest first."""
    return [audit_public(event) for event in claim_timeline(session, claim)]
