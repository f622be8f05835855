"""Presenters of decision letters (通知书): a letter as its readers see it listed, and its text as a response."""

from __future__ import annotations

from fastapi import Response

from core.storage import ObjectStore
from models.base import as_utc
from models.letters import Letter, LetterKind, LetterPublic
from tasks.common.labels import label
from tasks.letters.decision_letters import MEDIA_TYPE, letter_bytes, on_time


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
