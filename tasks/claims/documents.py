"""Claim documents: checked by content (PDF, JPEG, PNG), size-limited, hashed, stored once by content.

`stored_documents` puts the files and, if anything in its block fails (including the commit), removes
the objects it created, so no stored object is left without its claim row. Objects are content-addressed,
so two filings may share one: a filing that finds its object already stored touches it (an age-based sweep,
tasks.claims.document_sweep, then spares it), an undo keeps an object that another committed row references, and
after a successful block every object is checked once more and put back if a concurrent undo or sweep
removed it in the meantime.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from core.settings import get_settings
from core.storage.base import ObjectStore, ObjectStoreUnavailable, StoredObject, sha256_hex
from models.claims_enums import DocumentType
from models.errors import ValidationFailed

log = logging.getLogger(__name__)

CLAIMS_PREFIX = "claims/"
MAX_FILENAME = 200
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


def check_filename(name: str) -> None:
    """A plain file name: no folder part ('/', '\\'), no '.' or '..', no control characters, not too long."""
    if not name or "/" in name or "\\" in name or name.strip() in (".", "..") or not name.strip():
        raise ValidationFailed(f"文件名不合法（不能含路径）：{name!r}", code="bad_filename")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ValidationFailed(f"文件名不合法（含控制字符）：{name!r}", code="bad_filename")
    if len(name) > MAX_FILENAME:
        raise ValidationFailed(f"文件名过长（上限 {MAX_FILENAME} 个字符）", code="bad_filename")


def check_document(doc: UploadedDocument, *, max_bytes: int) -> tuple[str, str]:
    """Validate one upload; return its media type and extension."""
    check_filename(doc.filename)
    if not doc.data:
        raise ValidationFailed(f"文件为空：{doc.filename}", code="empty_file")
    if len(doc.data) > max_bytes:
        raise ValidationFailed(
            f"文件超过大小上限 {max_bytes / (1024 * 1024):g} MB：{doc.filename}", code="file_too_large"
        )
    return sniff(doc.data)


def read_limited(stream: BinaryIO, *, max_bytes: int) -> bytes:
    """At most max_bytes + 1 bytes of a stream: enough to tell a file over the limit without reading all of it."""
    chunks: list[bytes] = []
    remaining = max_bytes + 1
    while remaining > 0:
        chunk = stream.read(min(remaining, 1024 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def object_key_for(sha256: str, ext: str) -> str:
    """A content-addressed, non-guessable key: the same file is stored once."""
    return f"{CLAIMS_PREFIX}{sha256[:2]}/{sha256}.{ext}"


def sha256_of_key(key: str) -> str | None:
    """The SHA-256 a content-addressed key was made from, or None for any other key."""
    name = key.rpartition("/")[2].partition(".")[0]
    if len(name) == 64 and all(c in "0123456789abcdef" for c in name) and key == object_key_for(name, _ext(key)):
        return name
    return None


def _ext(key: str) -> str:
    return key.rpartition("/")[2].partition(".")[2]


@contextmanager
def stored_documents(
    store: ObjectStore,
    documents: Sequence[UploadedDocument],
    *,
    keep: Callable[[str], bool] | None = None,
) -> Iterator[list[StoredDocument]]:
    """Check every document, then store them; undo the new objects if the block raises.

    `keep(key)` says whether a committed row of someone else references a key; such objects survive an undo
    (roll the session back inside the block, before the error leaves it, so `keep` reads committed data).
    """
    max_bytes = get_settings().max_document_bytes
    checked = [(doc, *check_document(doc, max_bytes=max_bytes)) for doc in documents]
    created: list[str] = []
    result: list[StoredDocument] = []
    try:
        for doc, media_type, ext in checked:
            digest = sha256_hex(doc.data)
            key = object_key_for(digest, ext)
            if store.touch(key):  # already stored: renewed, so a sweep spares it until our row is committed
                stored = StoredObject(key=key, size=len(doc.data), sha256=digest, media_type=media_type)
            else:
                stored = store.put(key, doc.data, media_type=media_type)
                created.append(key)
            result.append(StoredDocument(doc.doc_type, doc.filename, stored))
        yield result
    except BaseException:
        _undo(store, created, keep)
        raise
    _restore_missing(store, checked, result)


def _undo(store: ObjectStore, created: Sequence[str], keep: Callable[[str], bool] | None) -> None:
    """Remove the objects this block created; what cannot be removed now is left to the sweep."""
    for key in created:
        try:
            if keep is not None and keep(key):
                continue
            store.delete(key)
        except Exception:  # the original error matters more; an orphan left here is swept later
            log.warning("could not remove object %s after a failed filing; the document sweep will", key)


def _restore_missing(
    store: ObjectStore, checked: Sequence[tuple[UploadedDocument, str, str]], result: Sequence[StoredDocument]
) -> None:
    """Put back any object a concurrent undo or sweep removed while this block was committing its rows."""
    try:
        for (doc, media_type, _), stored in zip(checked, result, strict=True):
            if not store.exists(stored.stored.key):
                log.warning("object %s vanished while its row was committed; storing it again", stored.stored.key)
                store.put(stored.stored.key, doc.data, media_type=media_type)
    except ObjectStoreUnavailable:
        log.warning("could not re-check stored documents after filing (object store unavailable)")
