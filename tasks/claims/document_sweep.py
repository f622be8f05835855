"""The orphan-document sweep: remove claim objects that no claim_document row references.

A crash between storing a document and committing its row (a killed process, a lost database connection)
can leave an object nobody references. The sweep deletes such objects under `claims/` once they are older
than a grace period, so an object whose filing is still between put and commit is never touched: a filing
that reuses an already stored object renews its age first (ObjectStore.touch).

For each batch of listed objects the sweep asks the database which keys are referenced (a fresh read, so
rows committed a moment ago count), then reads each candidate's age again right before deleting it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice

from sqlmodel import Session, col, select

from core.storage.base import ObjectInfo, ObjectStore
from models.claims import ClaimDocument
from tasks.claims.documents import CLAIMS_PREFIX, sha256_of_key

DEFAULT_GRACE = timedelta(minutes=60)
BATCH = 1000
MAX_KEYS_REPORTED = 1000


@dataclass
class SweepReport:
    """What a sweep found: objects examined, kept (referenced or too young) and deleted (or, dry run, to delete)."""

    examined: int = 0
    referenced: int = 0
    too_young: int = 0
    deleted: int = 0
    dry_run: bool = False
    keys: list[str] = field(default_factory=list)  # the deleted (or deletable) keys, at most MAX_KEYS_REPORTED


def _batches(infos: Iterator[ObjectInfo], size: int) -> Iterator[list[ObjectInfo]]:
    while batch := list(islice(infos, size)):
        yield batch


def referenced_keys(*, session: Session, keys: Sequence[str]) -> set[str]:
    """Which of keys a claim_document row references (looked up by the indexed SHA-256 of each key)."""
    digests = {d for d in (sha256_of_key(k) for k in keys) if d}
    if not digests:
        return set()
    stmt = select(ClaimDocument.object_key).where(col(ClaimDocument.sha256).in_(digests))
    found = set(session.exec(stmt).all())
    return found & set(keys)


def sweep_unreferenced_documents(
    *,
    session: Session,
    store: ObjectStore,
    grace: timedelta = DEFAULT_GRACE,
    now: datetime | None = None,
    dry_run: bool = False,
    batch_size: int = BATCH,
) -> SweepReport:
    """Delete objects under claims/ that no row references and that were last written before now - grace.

    The session only reads; its transaction is ended after each batch so later batches see new commits.
    """
    if grace < timedelta(0):
        raise ValueError("grace must not be negative")
    cutoff = (now or datetime.now(UTC)) - grace
    report = SweepReport(dry_run=dry_run)
    for batch in _batches(store.list_info(CLAIMS_PREFIX), batch_size):
        report.examined += len(batch)
        old = [info.key for info in batch if info.modified_at < cutoff]
        report.too_young += len(batch) - len(old)
        referenced = referenced_keys(session=session, keys=old) if old else set()
        session.rollback()
        report.referenced += len(referenced)
        for key in old:
            if key in referenced:
                continue
            current = store.info(key)  # read again: a filing may have renewed it since the listing
            if current is None:
                continue
            if current.modified_at >= cutoff:
                report.too_young += 1
                continue
            if not dry_run:
                store.delete(key)
            report.deleted += 1
            if len(report.keys) < MAX_KEYS_REPORTED:
                report.keys.append(key)
    return report
