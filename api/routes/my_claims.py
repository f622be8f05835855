"""A member following their own claims: where each stands, why the amount is what it is, and the letters
telling them of each decision.

Only a user with the member role, linked to their member record, reaches these (api.deps.MemberUser); they
see their own claims and nothing else: another member's reference is a 404 (tasks.common.access.own_claim,
through api.deps.MyClaim and MyLetter).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.deps import LanguageDep, MemberUser, MyClaim, MyLetter, SessionDep, StoreDep
from api.presenters.claims import claim_public
from api.presenters.letters import letter_public, letter_response
from api.schemas import ClaimStatusPublic
from models.letters import LetterPublic
from tasks.common.access import own_claims
from tasks.letters.decision_letters import MEDIA_TYPE, letters_of

router = APIRouter(prefix="/api/me/claims", tags=["my claims"])


@router.get("", response_model=list[ClaimStatusPublic])
def my_claims(session: SessionDep, user: MemberUser, language: LanguageDep) -> list[ClaimStatusPublic]:
    """My claims, newest first, each with its status and the explanation of its amount."""
    return [claim_public(c, language) for c in own_claims(session=session, user=user)]


@router.get("/{reference}", response_model=ClaimStatusPublic)
def my_claim(claim: MyClaim, language: LanguageDep) -> ClaimStatusPublic:
    """One of my claims by its reference."""
    return claim_public(claim, language)


@router.get("/{reference}/letters", response_model=list[LetterPublic])
def my_letters(request: Request, session: SessionDep, claim: MyClaim, language: LanguageDep) -> list[LetterPublic]:
    """The letters telling me of the decisions on one of my claims, oldest first."""
    return [
        letter_public(
            letter, language, str(request.url_for("my_letter_content", reference=claim.reference, letter_id=letter.id))
        )
        for letter in letters_of(session=session, claim=claim)
    ]


@router.get(
    "/{reference}/letters/{letter_id}/content", response_class=Response, responses={200: {"content": {MEDIA_TYPE: {}}}}
)
def my_letter_content(letter: MyLetter, store: StoreDep) -> Response:
    """The text of one of my letters; 404 when it is not my claim's letter or its file is missing."""
    return letter_response(store, letter)
