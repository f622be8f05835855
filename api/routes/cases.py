"""Case tracking for administrators, auditors and reviewers: where a claim stands, and its timeline.

Administrators and auditors see every claim; a reviewer sees the claims of their org subtree only (any
other claim is a 404, never data); everybody else gets 403 (tasks.common.access, through api.deps.CaseClaim).
The answers never carry the member's ID number, bank card or diagnosis.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CaseClaim, CaseClaimByReference, LanguageDep, SessionDep
from api.presenters.claims import claim_public
from api.presenters.common import audit_public
from api.schemas import ClaimStatusPublic
from models.audit import AuditEventPublic
from tasks.common.timeline import claim_timeline

router = APIRouter(prefix="/api/claims", tags=["cases"])


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
    return [audit_public(event) for event in claim_timeline(session=session, claim=claim)]
