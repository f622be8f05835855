"""Claim documents: checked by content (PDF, JPEG, PNG), size-limited, hashed, stored once by content.

`stored_documents` puts the files and, if anything in its block fails (including the commit), removes
the objects it created, so no stored object is left without its claim row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from models.claims_enums import DocumentType
from models.errors import ValidationFailed
from mutualaid.settings import get_settings
from mutualaid.storage.base import ObjectStore, StoredObject, sha256_hex

SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)


@dataclass(frozen=True)
class UploadedDocument:
    """A file as the applicant handed it in."""

    doc_type: DocumentType
    filename: str
    data: bytes


@dataclass(frozen=True)
class StoredDocument:
    """A checked file now in object storage."""

    doc_type: DocumentType
    filename: str
    stored: StoredObject


def sniff(data: bytes) -> tuple[str, str]:
    """The media type and extension of a document, judged by its first bytes."""
    for magic, media_type, ext in SIGNATURES:
        if data.startswith(magic):
            return media_type, ext
    raise ValidationFailed("文件类型不支持：仅接受 PDF、JPEG、PNG", code="unsupported_file_type")


def check_document(doc: UploadedDocument, *, max_bytes: int) -> tuple[str, str]:
    """Validate one upload; return its media type and extension."""
    name = doc.filename
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise ValidationFailed(f"文件名不合法：{name!r}", code="bad_filename")
    if len(name) > 200:
        raise ValidationFailed("文件名过长", code="bad_filename")
    if not doc.data:
        raise ValidationFailed(f"文件为空：{name}", code="empty_file")
    if len(doc.data) > max_bytes:
        raise ValidationFailed(f"文件超过大小上限 {max_bytes // (1024 * 1024)} MB：{name}", code="file_too_large")
    return sniff(doc.data)


def object_key_for(sha256: str, ext: str) -> str:
    """A content-addressed, non-guessable key: the same file is stored once."""
    return f"claims/{sha256[:2]}/{sha256}.{ext}"


@contextmanager
def stored_documents(store: ObjectStore, documents: Sequence[UploadedDocument]) -> Iterator[list[StoredDocument]]:
    """Check every document, then store them; undo the new objects if the block raises."""
    max_bytes = get_settings().max_document_bytes
    checked = [(doc, *check_document(doc, max_bytes=max_bytes)) for doc in documents]
    created: list[str] = []
    result: list[StoredDocument] = []
    try:
        for doc, media_type, ext in checked:
            key = object_key_for(sha256_hex(doc.data), ext)
            existed = store.exists(key)
            stored = store.put(key, doc.data, media_type=media_type)
            if not existed:
                created.append(key)
            result.append(StoredDocument(doc.doc_type, doc.filename, stored))
        yield result
    except BaseException:
        for key in created:
            store.delete(key)
        raise
