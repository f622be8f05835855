"""Response schemas of claim submission and documents (never the member's ID number, bank card or diagnosis)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from models.base import as_utc
from models.claims import Claim, ClaimDocument
from tasks.common.labels import label


class MissingDocumentPublic(BaseModel):
    """A required document the claim still lacks."""

    doc_type: str
    label: str


class ClaimDocumentPublic(BaseModel):
    """One stored document of a claim (the object key stays inside)."""

    id: int
    doc_type: str
    doc_type_label: str
    filename: str
    media_type: str
    size: int
    sha256: str
    uploaded_at: datetime


class ClaimFiledPublic(BaseModel):
    """A filed claim: its reference, whether it is complete, what is missing, and its documents."""

    id: int
    reference: str
    status: str
    status_label: str
    review_round: int
    missing_documents: list[MissingDocumentPublic]
    documents: list[ClaimDocumentPublic]


class DocumentLink(BaseModel):
    """Where to fetch a document: a presigned URL that expires, or the authenticated download (no expiry)."""

    url: str
    expires_at: datetime | None


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
