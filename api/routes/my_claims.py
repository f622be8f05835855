"""A member following their own claims: where each stands and why the amount is what it is.

Only a user with the member role, linked to their member record, reaches these; they see their own claims
and nothing else (another member's reference is a 404).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from sqlmodel import col, select

from api.deps import LanguageDep, SessionDep, require_roles
from api.schemas import ClaimStatusPublic
from api.views import claim_public
from models.claims import Claim
from models.errors import NotFound
from models.users import Role, User

router = APIRouter(prefix="/api/me/claims", tags=["my claims"])


def require_member(user: Annotated[User, Depends(require_roles(Role.MEMBER))]) -> User:
    """A member user linked to their member record."""
    if user.member_id is None:
        raise NotFound("该账号未关联会员")
    return user


MemberUser = Annotated[User, Depends(require_member)]


@router.get("", response_model=list[ClaimStatusPublic])
def my_claims(session: SessionDep, user: MemberUser, language: LanguageDep) -> list[ClaimStatusPublic]:
    """My claims, newest first, each with its status and the explanation of its amount."""
    claims = session.exec(
        select(Claim).where(Claim.member_id == user.member_id).order_by(col(Claim.submitted_at).desc(), col(Claim.id))
    ).all()
    return [claim_public(c, language) for c in claims]


@router.get("/{reference}", response_model=ClaimStatusPublic)
def my_claim(
    session: SessionDep,
    user: MemberUser,
    language: LanguageDep,
    reference: Annotated[str, PathParam(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9_\-]+$")],
) -> ClaimStatusPublic:
    """One of my claims by its reference."""
    claim = session.exec(select(Claim).where(Claim.reference == reference, Claim.member_id == user.member_id)).first()
    if claim is None:
        raise NotFound(f"未找到案件 {reference}")
    return claim_public(claim, language)
