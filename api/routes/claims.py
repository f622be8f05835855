"""Claim submission with documents, adding documents later, and serving the documents to those who may see them.

Filing (multipart/form-data): a `claim` field holding the claim JSON (ClaimInput fields, `programme_code`, and
the member's `id_number` or `member_id`), then repeated `documents` files with a parallel, repeated
`document_types` field. Administrators file for anyone, unit officers for members of their org subtree,
members for themselves; any other member is a 404. The service (tasks.claims.filing) stores the documents and
commits the claim as one unit of work: bad input is a 422 with a reason, an unreachable object store a 503,
and neither leaves a row or an object behind.

Documents are listed and served to administrators, auditors, reviewers whose org subtree holds the claim,
the user who filed it and the member themselves; anyone else gets a 404 (finance a 403). Both rules are the
access policy's (tasks.common.access), reached through api.deps (Filer, ReadableClaim, ReadableDocument).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated, BinaryIO

from fastapi import APIRouter, File, Form, Request, UploadFile, status
from fastapi.responses import StreamingResponse

from api.deps import EntityId, Filer, LanguageDep, ReadableClaim, ReadableDocument, SessionDep, StoreDep
from api.presenters.claims import document_public, filed_public
from api.presenters.common import attachment
from api.schemas_claims import ClaimDocumentPublic, ClaimFiledPublic, DocumentLink
from core.settings import get_settings
from core.storage.local import LocalObjectStore
from models.base import utcnow
from models.errors import NotFound, ValidationFailed
from tasks.claims.documents import UploadedDocument
from tasks.claims.filing import add_claim_documents, documents_of, file_claim
from tasks.claims.filing_input import check_upload_count, parse_filing, upload_of
from tasks.common.access import claim_for_filer
from tasks.common.users import actor_of

router = APIRouter(prefix="/api/claims", tags=["claims"])

ClaimField = Annotated[
    str,
    Form(
        max_length=64 * 1024,
        description="申请数据 JSON：ClaimInput 各字段，加 programme_code 与会员 id_number（或 member_id）",
    ),
]
DocumentFiles = Annotated[list[UploadFile] | None, File(description="材料文件（PDF、JPEG、PNG），可多个")]
DocumentTypes = Annotated[list[str] | None, Form(description="与 documents 一一对应的材料类型，如 invoice")]
STREAM_CHUNK = 256 * 1024


def uploads_of(files: list[UploadFile] | None, types: list[str] | None, *, at_least: int = 0) -> list[UploadedDocument]:
    """The uploaded files paired with their types, each read up to the size limit + 1 byte; 422 on a mismatch."""
    files, types = files or [], types or []
    check_upload_count(len(files), at_least=at_least)
    if len(files) != len(types):
        raise ValidationFailed(
            f"材料文件（{len(files)} 个）与材料类型（{len(types)} 个）数量不一致，须一一对应",
            code="document_types_mismatch",
        )
    return [
        upload_of(doc_type, upload.filename or "", upload.file) for upload, doc_type in zip(files, types, strict=True)
    ]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ClaimFiledPublic)
def submit(
    session: SessionDep,
    store: StoreDep,
    user: Filer,
    language: LanguageDep,
    claim: ClaimField,
    documents: DocumentFiles = None,
    document_types: DocumentTypes = None,
) -> ClaimFiledPublic:
    """File a claim with its documents: 'submitted' when complete, else 'incomplete' with what is missing."""
    filing = parse_filing(claim)
    uploads = uploads_of(documents, document_types)
    filed = file_claim(
        session=session, store=store, filing=filing, uploads=uploads, user=user, actor=actor_of(user),
        commit=session.commit,
    )  # fmt: skip
    return filed_public(filed, documents_of(session=session, claim=filed), language)


@router.post("/{claim_id}/documents", response_model=ClaimFiledPublic)
def add(
    session: SessionDep,
    store: StoreDep,
    user: Filer,
    language: LanguageDep,
    claim_id: EntityId,
    documents: DocumentFiles = None,
    document_types: DocumentTypes = None,
) -> ClaimFiledPublic:
    """Add documents to an incomplete or returned claim (409 otherwise); it resumes once nothing is missing."""
    # Checked here, not by a dependency: a malformed form is a 422 before an unknown claim is a 404.
    found = claim_for_filer(session=session, user=user, claim_id=claim_id)
    uploads = uploads_of(documents, document_types, at_least=1)
    claim = add_claim_documents(
        session=session, store=store, claim=found, uploads=uploads, actor=actor_of(user), commit=session.commit
    )
    return filed_public(claim, documents_of(session=session, claim=claim), language)


@router.get("/{claim_id}/documents", response_model=list[ClaimDocumentPublic])
def list_documents(session: SessionDep, claim: ReadableClaim, language: LanguageDep) -> list[ClaimDocumentPublic]:
    """The claim's documents (type, file name, media type, size, SHA-256, when uploaded)."""
    return [document_public(doc, language) for doc in documents_of(session=session, claim=claim)]


@router.get("/{claim_id}/documents/{document_id}/link", response_model=DocumentLink)
def document_link(request: Request, doc: ReadableDocument, store: StoreDep) -> DocumentLink:
    """A short-lived presigned URL (S3 / MinIO), or the authenticated download URL (local store)."""
    if isinstance(store, LocalObjectStore):
        url = request.url_for("download_document", claim_id=doc.claim_id, document_id=doc.id)
        return DocumentLink(url=str(url), expires_at=None)
    minutes = get_settings().presigned_url_minutes
    expires_at = utcnow() + timedelta(minutes=minutes)
    return DocumentLink(url=store.url(doc.object_key, expires=timedelta(minutes=minutes)), expires_at=expires_at)


@router.get(
    "/{claim_id}/documents/{document_id}/content",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/pdf": {}, "image/jpeg": {}, "image/png": {}}}},
)
def download_document(doc: ReadableDocument, store: StoreDep) -> StreamingResponse:
    """The document's bytes, streamed, with its media type and original file name; never cached."""
    try:
        stream = store.open(doc.object_key)  # opened here, so an unreachable store is a 503 before any byte
    except KeyError:
        raise NotFound("材料文件缺失，请联系管理员", code="document_object_missing") from None
    headers = attachment(doc.filename) | {
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Content-Length": str(doc.size),
    }
    return StreamingResponse(_chunks(stream), media_type=doc.media_type, headers=headers)


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(STREAM_CHUNK):
            yield chunk
