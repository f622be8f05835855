"""The decision letters of a claim (通知书): listed and served to whoever may read the claim's documents.

Administrators, auditors, reviewers whose org subtree holds the claim, the user who filed it and the member
themselves (api.routes.claims.readable_claim); anyone else gets a 404 (finance a 403). A member reaches their
own letters under /api/me/claims/{reference}/letters too (api.routes.my_claims).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.deps import CurrentUser, EntityId, LanguageDep, SessionDep, StoreDep
from api.routes.claims import readable_claim
from core.storage import ObjectStore
from models.base import as_utc
from models.letters import Letter, LetterKind, LetterPublic
from tasks.common.labels import label
from tasks.letters.decision_letters import MEDIA_TYPE, letter_bytes, letter_of, letters_of, on_time

router = APIRouter(prefix="/api/claims", tags=["letters"])


def letter_public(letter: Letter, language: str, url: str) -> LetterPublic:
    """A letter as its readers see it listed, with the URL of its text."""
    assert letter.id is not None
    return LetterPublic(
        id=letter.id,
        claim_id=letter.claim_id,
        kind=LetterKind(letter.kind),
        kind_label=label("letter_kind", letter.kind, language),
        language=letter.language,
        media_type=letter.media_type,
        size=letter.size,
        sha256=letter.sha256,
        decided_at=as_utc(letter.decided_at),
        due_at=as_utc(letter.due_at),
        created_at=as_utc(letter.created_at),
        on_time=on_time(letter),
        url=url,
    )


def letter_response(store: ObjectStore, letter: Letter) -> Response:
    """The letter's text (Markdown, UTF-8), never cached; 404 when its object is missing."""
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    return Response(content=letter_bytes(store=store, letter=letter), media_type=MEDIA_TYPE, headers=headers)


@router.get("/{claim_id}/letters", response_model=list[LetterPublic])
def list_letters(
    request: Request, session: SessionDep, user: CurrentUser, language: LanguageDep, claim_id: EntityId
) -> list[LetterPublic]:
    """The claim's letters, oldest first: kind, decision time, due date, whether it was written on time."""
    claim = readable_claim(session, user, claim_id)
    return [
        letter_public(letter, language, str(request.url_for("letter_content", claim_id=claim_id, letter_id=letter.id)))
        for letter in letters_of(session=session, claim=claim)
    ]


@router.get(
    "/{claim_id}/letters/{letter_id}/content",
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {}}}},
)
def letter_content(
    session: SessionDep, store: StoreDep, user: CurrentUser, claim_id: EntityId, letter_id: EntityId
) -> Response:
    """The letter's text; 404 when it is not this claim's letter or its file is missing."""
    claim = readable_claim(session, user, claim_id)
    return letter_response(store, letter_of(session=session, claim=claim, letter_id=letter_id))
