"""The decision letters of a claim (通知书): listed and served to whoever may read the claim's documents.

Administrators, auditors, reviewers whose org subtree holds the claim, the user who filed it and the member
themselves (tasks.common.access.readable_claim, through api.deps.ReadableClaim and ReadableLetter); anyone else
gets a 404 (finance a 403). A member reaches their own letters under /api/me/claims/{reference}/letters too
(api.routes.my_claims).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.deps import LanguageDep, ReadableClaim, ReadableLetter, SessionDep, StoreDep
from api.presenters.letters import letter_public, letter_response
from models.letters import LetterPublic
from tasks.letters.decision_letters import MEDIA_TYPE, letters_of

router = APIRouter(prefix="/api/claims", tags=["letters"])


@router.get("/{claim_id}/letters", response_model=list[LetterPublic])
def list_letters(
    request: Request, session: SessionDep, claim: ReadableClaim, language: LanguageDep
) -> list[LetterPublic]:
    """The claim's letters, oldest first: kind, decision time, due date, whether it was written on time."""
    return [
        letter_public(letter, language, str(request.url_for("letter_content", claim_id=claim.id, letter_id=letter.id)))
        for letter in letters_of(session=session, claim=claim)
    ]


@router.get(
    "/{claim_id}/letters/{letter_id}/content",
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {}}}},
)
def letter_content(letter: ReadableLetter, store: StoreDep) -> Response:
    """The letter's text; 404 when it is not this claim's letter or its file is missing."""
    return letter_response(store, letter)
