"""Presenters of claims: where a case stands, its calculation's steps, its documents, and a filing's result.

Deliberately without the member's ID number, bank card or diagnosis.
"""

from __future__ import annotations

from typing import Any

from api.presenters.common import utc, yuan
from api.schemas import ClaimStatusPublic, StepPublic
from api.schemas_claims import ClaimDocumentPublic, ClaimFiledPublic, MissingDocumentPublic
from models.base import as_utc, format_yuan
from models.claims import Claim, ClaimDocument
from tasks.claims.explain import render_steps
from tasks.common.labels import label


def steps_public(steps: list[dict[str, Any]], language: str = "zh-CN") -> list[StepPublic]:
    """A calculation's steps as the API shows them, their sentences in the asked language."""
    return [
        StepPublic(
            step=str(s.get("step", "")),
            text=str(s.get("text") or ""),
            result_fen=s.get("result_fen"),
            result_yuan=format_yuan(s["result_fen"]) if s.get("result_fen") is not None else None,
            inputs=dict(s.get("inputs") or {}),
        )
        for s in render_steps(steps, language)
    ]


def claim_public(claim: Claim, language: str = "zh-CN") -> ClaimStatusPublic:
    """Where a case stands; deliberately without the member's ID number, bank card or diagnosis."""
    assert claim.id is not None
    steps = steps_public(claim.explanation or [], language)
    return ClaimStatusPublic(
        id=claim.id,
        reference=claim.reference,
        org_unit_id=claim.org_unit_id,
        status=claim.status,
        status_label=label("claim_status", claim.status, language),
        benefit_type=str(claim.benefit_type),
        benefit_type_label=label("benefit_type", str(claim.benefit_type), language),
        payout_yuan=yuan(claim.payout_fen),
        required_levels=claim.required_levels,
        current_level=claim.current_level,
        current_level_name=label("task_level", claim.current_level, language) if claim.current_level else None,
        review_round=claim.review_round,
        rejection_reason=claim.rejection_reason,
        submitted_at=as_utc(claim.submitted_at),
        decided_at=utc(claim.decided_at),
        notice_ends_at=utc(claim.notice_ends_at),
        paid_at=utc(claim.paid_at),
        missing_documents=list(claim.missing_documents or []),
        explanation=[step.text for step in steps if step.text],
        calculation=steps,
    )


def document_public(doc: ClaimDocument, language: str = "zh-CN") -> ClaimDocumentPublic:
    """A document row as the API shows it."""
    assert doc.id is not None
    return ClaimDocumentPublic(
        id=doc.id,
        doc_type=str(doc.doc_type),
        doc_type_label=label("document_type", str(doc.doc_type), language),
        filename=doc.filename,
        media_type=doc.media_type,
        size=doc.size,
        sha256=doc.sha256,
        uploaded_at=as_utc(doc.uploaded_at),
    )


def filed_public(claim: Claim, documents: list[ClaimDocument], language: str = "zh-CN") -> ClaimFiledPublic:
    """A claim after filing or adding documents."""
    assert claim.id is not None
    return ClaimFiledPublic(
        id=claim.id,
        reference=claim.reference,
        status=str(claim.status),
        status_label=label("claim_status", str(claim.status), language),
        review_round=claim.review_round,
        missing_documents=[
            MissingDocumentPublic(doc_type=code, label=label("document_type", code, language))
            for code in claim.missing_documents or []
        ],
        documents=[document_public(doc, language) for doc in documents],
    )
