"""Response schemas of claim submission and documents (never the member's ID number, bank card or diagnosis).

The presenters that fill them are in api.presenters.claims.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


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
