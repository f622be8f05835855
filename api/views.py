"""Table rows turned into the public schemas the routes return (routes never return table models).

Every timestamp leaves as aware UTC (SQLite hands them back naive).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from sqlmodel import Session

from api.schemas import ClaimStatusPublic
from models.approvals import ApprovalTask, TaskKind, TaskPublic, TaskStatus
from models.audit import AuditEvent, AuditEventPublic
from models.base import as_utc, format_yuan
from models.claims import Claim
from models.publications import Publication, PublicationPublic, PublishedFile, PublishedFilePublic
from tasks.approval import TaskRow, level_name
from tasks.labels import label


def utc(value: datetime | None) -> datetime | None:
    """A stored timestamp as aware UTC, or None."""
    return as_utc(value) if value is not None else None


def yuan(fen: int | None) -> str | None:
    """Fen as '1,234.56', or None."""
    return format_yuan(fen) if fen is not None else None


def task_public(row: TaskRow) -> TaskPublic:
    """A queue row (task plus what it shows of its claim) as the API shows it."""
    task = row.task
    assert task.id is not None
    return TaskPublic(
        id=task.id,
        kind=TaskKind(task.kind),
        claim_id=task.claim_id,
        claim_reference=row.claim_reference,
        enrolment_id=task.enrolment_id,
        level=task.level,
        level_name=level_name(task.level),
        round=task.round,
        org_unit_id=task.org_unit_id,
        status=TaskStatus(task.status),
        version=task.version,
        assignee_id=task.assignee_id,
        due_at=utc(task.due_at),
        created_at=as_utc(task.created_at),
        benefit_type=str(row.benefit_type) if row.benefit_type is not None else None,
        payout_yuan=yuan(row.payout_fen),
    )


def task_row(session: Session, task: ApprovalTask) -> TaskRow:
    """A single task with its claim's reference, benefit type and payout."""
    claim = session.get(Claim, task.claim_id) if task.claim_id is not None else None
    if claim is None:
        return TaskRow(task, None, None, None)
    return TaskRow(task, claim.reference, str(claim.benefit_type), claim.payout_fen)


def audit_public(event: AuditEvent) -> AuditEventPublic:
    """An audit event as a timeline line."""
    return AuditEventPublic(
        occurred_at=as_utc(event.occurred_at),
        actor_label=event.actor_label,
        entity_type=event.entity_type,
        entity_id=event.entity_id,
        action=event.action,
        from_state=event.from_state,
        to_state=event.to_state,
        reason=event.reason,
        data=dict(event.data or {}),
    )


def claim_public(claim: Claim, language: str = "zh-CN") -> ClaimStatusPublic:
    """Where a case stands; deliberately without the member's ID number, bank card or diagnosis."""
    assert claim.id is not None
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
        explanation=[str(step["text"]) for step in claim.explanation or [] if step.get("text")],
    )


def file_url(publication_id: int, name: str) -> str:
    """The API path that serves one published file."""
    return f"/api/public/publications/{publication_id}/files/{quote(name, safe='')}"


def publication_public(publication: Publication, files: list[PublishedFile]) -> PublicationPublic:
    """A publication with its files, as the public sees it."""
    assert publication.id is not None
    pid = publication.id
    return PublicationPublic(
        id=pid,
        kind=publication.kind,
        period=publication.period,
        version=publication.version,
        replaces_id=publication.replaces_id,
        title=publication.title,
        language=publication.language,
        manifest_sha256=publication.manifest_sha256,
        published_at=as_utc(publication.published_at),
        files=[
            PublishedFilePublic(
                name=f.name, media_type=f.media_type, size=f.size, sha256=f.sha256, url=file_url(pid, f.name)
            )
            for f in sorted(files, key=lambda f: f.name)
        ],
    )
