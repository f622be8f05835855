"""A member following their own claims: where each stands, why the amount is what it is, and the letters
telling them of each decision.

Only a user with the member role, linked to their member record, reaches these; they see their own claims
and nothing else (another member's reference is a 404).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi import Path as PathParam
from sqlmodel import Session, col, select

from api.deps import EntityId, LanguageDep, SessionDep, StoreDep, require_roles
from api.routes.letters import letter_public, letter_response
from api.schemas import ClaimStatusPublic
from api.views import claim_public
from models.claims import Claim
from models.errors import NotFound
from models.letters import LetterPublic
from models.users import Role, User
from tasks.letters.decision_letters import MEDIA_TYPE, letter_of, letters_of

router = APIRouter(prefix="/api/me/claims", tags=["my claims"])


def require_member(user: Annotated[User, Depends(require_roles(Role.MEMBER))]) -> User:
    """A member user linked to their member record."""
    if user.member_id is None:
        raise NotFound("该账号未关联会员")
    return user


MemberUser = Annotated[User, Depends(require_member)]
Reference = Annotated[str, PathParam(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9_\-]+$")]


def my_claim_of(session: Session, user: User, reference: str) -> Claim:
    """The member's own claim by its reference; NotFound for any other."""
    claim = session.exec(select(Claim).where(Claim.reference == reference, Claim.member_id == user.member_id)).first()
    if claim is None:
        raise NotFound(f"未找到案件 {reference}")
    return claim


@router.get("", response_model=list[ClaimStatusPublic])
def my_claims(session: SessionDep, user: MemberUser, language: LanguageDep) -> list[ClaimStatusPublic]:
    """My claims, newest first, each with its status and the explanation of its amount."""
    claims = session.exec(
        select(Claim).where(Claim.member_id == user.member_id).order_by(col(Claim.submitted_at).desc(), col(Claim.id))
    ).all()
    return [claim_public(c, language) for c in claims]


@router.get("/{reference}", response_model=ClaimStatusPublic)
def my_claim(session: SessionDep, user: MemberUser, language: LanguageDep, reference: Reference) -> ClaimStatusPublic:
    """One of my claims by its reference."""
    return claim_public(my_claim_of(session, user, reference), language)


@router.get("/{reference}/letters", response_model=list[LetterPublic])
def my_letters(
    request: Request, session: SessionDep, user: MemberUser, language: LanguageDep, reference: Reference
) -> list[LetterPublic]:
    """The letters telling me of the decisions on one of my claims, oldest first."""
    claim = my_claim_of(session, user, reference)
    return [
        letter_public(
            letter, language, str(request.url_for("my_letter_content", reference=reference, letter_id=letter.id))
        )
        for letter in letters_of(session=session, claim=claim)
    ]


@router.get(
    "/{reference}/letters/{letter_id}/content", response_class=Response, responses={200: {"content": {MEDIA_TYPE: {}}}}
)
def my_letter_content(
    session: SessionDep, store: StoreDep, user: MemberUser, reference: Reference, letter_id: EntityId
) -> Response:
    """The text of one of my letters; 404 when it is not my claim's letter or its file is missing."""
    claim = my_claim_of(session, user, reference)
    return letter_response(store, letter_of(session=session, claim=claim, letter_id=letter_id))
