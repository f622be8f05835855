"""Case tracking for administrators, auditors and reviewers: where a claim stands, and its timeline.

Administrators and auditors see every claim; a reviewer sees the claims of their org subtree only (any
other claim is a 404, never data); everybody else gets 403. The answers never carry the member's ID
number, bank card or diagnosis.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from api.deps import CurrentUser, EntityId, LanguageDep, SessionDep
from api.schemas import ClaimStatusPublic
from api.views import audit_public, claim_public
from models.approvals import ApprovalTask
from models.audit import AuditEvent, AuditEventPublic
from models.claims import Claim
from models.errors import Forbidden, NotFound
from models.org import OrgUnit
from models.payments import Payment
from models.users import Role, User
from tasks.common.orgs import under

router = APIRouter(prefix="/api/claims", tags=["cases"])

SEE_ALL = frozenset({Role.ADMIN, Role.AUDITOR})


def require_case_reader(user: CurrentUser) -> User:
    """Administrators, auditors and reviewers may track cases."""
    if Role(user.role) not in SEE_ALL and user.review_level is None:
        raise Forbidden("当前角色无权查看案件")
    return user


CaseReader = Annotated[User, Depends(require_case_reader)]


def visible_claim(session: Session, user: User, *, claim_id: int | None = None, reference: str | None = None) -> Claim:
    """The claim if this user may see it; NotFound otherwise."""
    key = col(Claim.id) == claim_id if claim_id is not None else col(Claim.reference) == reference
    stmt = select(Claim).where(key)
    if Role(user.role) not in SEE_ALL:
        stmt = stmt.join(OrgUnit, OrgUnit.id == Claim.org_unit_id).where(under(user.org_unit_id))  # type: ignore[arg-type]
    claim = session.exec(stmt).first()
    if claim is None:
        raise NotFound(f"未找到案件 {reference or claim_id}")
    return claim


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
def claim_by_reference(
    session: SessionDep,
    user: CaseReader,
    language: LanguageDep,
    reference: Annotated[str, PathParam(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9_\-]+$")],
) -> ClaimStatusPublic:
    """Where a claim stands, by the reference the member quotes."""
    return claim_public(visible_claim(session, user, reference=reference), language)


@router.get("/{claim_id}", response_model=ClaimStatusPublic)
def claim_status(session: SessionDep, user: CaseReader, language: LanguageDep, claim_id: EntityId) -> ClaimStatusPublic:
    """Where a claim stands."""
    return claim_public(visible_claim(session, user, claim_id=claim_id), language)


@router.get("/{claim_id}/timeline", response_model=list[AuditEventPublic])
def timeline(session: SessionDep, user: CaseReader, claim_id: EntityId) -> list[AuditEventPublic]:
    """Every recorded change of the claim, its tasks and its payments, oldest first."""
    claim = visible_claim(session, user, claim_id=claim_id)
    return [audit_public(event) for event in claim_timeline(session, claim)]
