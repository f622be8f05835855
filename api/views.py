"""Table rows turned into the public schemas the routes return (routes never return table models).

Every timestamp leaves as aware UTC (SQLite hands them back naive).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlmodel import Session

from api.schemas import (
    ClaimStatusPublic,
    FundPublic,
    ReceiptPublic,
    ReconciliationPublic,
    SourceTotal,
    StepPublic,
    UnitReconciliationPublic,
)
from models.approvals import ApprovalTask, TaskKind, TaskPublic, TaskStatus
from models.audit import AuditEvent, AuditEventPublic
from models.base import as_utc, format_yuan, utcnow
from models.claims import Claim
from models.funds import FundReceipt, FundSource
from models.publications import Publication, PublicationPublic, PublishedFile, PublishedFilePublic
from tasks.approval.decisions import level_name
from tasks.approval.queue import TaskRow
from tasks.claims.explain import render_steps
from tasks.common.labels import label
from tasks.funds.ledger import FundFigures, UnitReconciliation


def utc(value: datetime | None) -> datetime | None:
    """A stored timestamp as aware UTC, or None."""
    return as_utc(value) if value is not None else None


def yuan(fen: int | None) -> str | None:
    """Fen as '1,234.56', or None."""
    return format_yuan(fen) if fen is not None else None


def task_public(row: TaskRow, now: datetime | None = None) -> TaskPublic:
    """A queue row (task plus what it shows of its claim) as the API shows it."""
    task = row.task
    assert task.id is not None
    due = utc(task.due_at)
    # Built without validation: every value comes from the database row or is made here.
    return TaskPublic.model_construct(
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
        due_at=due,
        created_at=as_utc(task.created_at),
        benefit_type=str(row.benefit_type) if row.benefit_type is not None else None,
        payout_yuan=yuan(row.payout_fen),
        objection_id=task.objection_id,
        escalate_at=utc(task.escalate_at),
        overdue=bool(
            due is not None and task.status in (TaskStatus.OPEN, TaskStatus.TAKEN) and due < (now or utcnow())
        ),
        reminded_at=utc(task.reminded_at),
        escalated_at=utc(task.escalated_at),
        escalated_to_id=task.escalated_to_id,
    )


def task_row(session: Session, task: ApprovalTask) -> TaskRow:
    """A single task with its claim's reference, benefit type and payout (the claim the request already
    loaded, when it did)."""
    claim = session.get(Claim, task.claim_id) if task.claim_id is not None else None
    if claim is None:
        return TaskRow(task, None, task.benefit_type, None)
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


def attachment(filename: str) -> dict[str, str]:
    """A Content-Disposition header that downloads as filename (an ASCII fallback plus the UTF-8 name)."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in filename)
    return {"Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"}


def receipt_public(receipt: FundReceipt, payer_unit_code: str | None, language: str = "zh-CN") -> ReceiptPublic:
    """A receipt as finance sees it."""
    assert receipt.id is not None
    return ReceiptPublic(
        id=receipt.id,
        source=FundSource(receipt.source),
        source_label=label("fund_source", str(receipt.source), language),
        payer=receipt.payer,
        payer_unit_code=payer_unit_code,
        amount_yuan=format_yuan(receipt.amount_fen),
        amount_fen=receipt.amount_fen,
        received_on=receipt.received_on,
        reference=receipt.reference,
        member_count=receipt.member_count,
        recorded_at=as_utc(receipt.recorded_at),
    )


def fund_public(programme_code: str, year: int, figures: FundFigures, language: str = "zh-CN") -> FundPublic:
    """The year's fund figures, every amount both as '1,234.56' yuan and as integer fen."""
    return FundPublic(
        programme_code=programme_code,
        year=year,
        receipts_yuan=format_yuan(figures.receipts_fen),
        receipts_fen=figures.receipts_fen,
        payouts_yuan=format_yuan(figures.payouts_fen),
        payouts_fen=figures.payouts_fen,
        balance_yuan=format_yuan(figures.balance_fen),
        balance_fen=figures.balance_fen,
        by_source=[
            SourceTotal(
                source=FundSource(source),
                label=label("fund_source", source, language),
                amount_yuan=format_yuan(fen),
                amount_fen=fen,
            )
            for source, fen in figures.by_source.items()
        ],
    )


def _unit_row(
    code: str, name: str, expected: int, received: int, enrolled: int, activated: int
) -> UnitReconciliationPublic:
    return UnitReconciliationPublic(
        unit_code=code,
        unit_name=name,
        expected_yuan=format_yuan(expected),
        expected_fen=expected,
        received_yuan=format_yuan(received),
        received_fen=received,
        difference_yuan=format_yuan(received - expected),
        difference_fen=received - expected,
        members_enrolled=enrolled,
        members_activated=activated,
    )


def reconciliation_public(programme_code: str, year: int, rows: list[UnitReconciliation]) -> ReconciliationPublic:
    """Every unit's expected and received contributions, and the totals."""
    units = [
        _unit_row(r.unit_code, r.unit_name, r.expected_fen, r.received_fen, r.members_enrolled, r.members_activated)
        for r in rows
    ]
    totals = _unit_row(
        "",
        "合计",
        sum(r.expected_fen for r in rows),
        sum(r.received_fen for r in rows),
        sum(r.members_enrolled for r in rows),
        sum(r.members_activated for r in rows),
    )
    return ReconciliationPublic(programme_code=programme_code, year=year, units=units, totals=totals)
