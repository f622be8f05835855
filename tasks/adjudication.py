"""Adjudication of submitted claims in chunks: coverage, deadline, duplicate invoices, payout; then routing.

Set-based: one query each for the chunk's claims, enrolments, rules, cap usage and live invoices; one
bulk status change for the refused claims. `route_claims` (the approval step) opens the first-level
task of each calculated claim and moves the chunk to review in one bulk change.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from models.approvals import ApprovalTask, TaskKind
from models.base import as_utc, utcnow
from models.claims import LIVE_CLAIM_STATUSES, Claim, ClaimStatus
from models.enrolments import Enrolment, EnrolmentStatus
from models.errors import ValidationFailed
from models.org import OrgUnit
from models.programmes import PolicyYear
from models.states import SYSTEM, Actor, change_status_bulk
from tasks.approval import level_org_id
from tasks.benefits import calculate
from tasks.claims import facts_of
from tasks.limits import usage_of
from tasks.workdays import due_at


@dataclass
class AdjudicationCounts:
    """What a chunk came to."""

    calculated: int = 0
    rejected: int = 0


def submitted_claim_ids(*, session: Session, calculated: bool, after_id: int = 0, limit: int = 5000) -> list[int]:
    """The next chunk of submitted claims, by id: those still to calculate, or those calculated and unrouted."""
    pending = col(Claim.required_levels).is_not(None) if calculated else col(Claim.required_levels).is_(None)
    return list(
        session.exec(
            select(Claim.id)
            .where(Claim.status == ClaimStatus.SUBMITTED, pending, col(Claim.id) > after_id)
            .order_by(col(Claim.id))
            .limit(limit)
        ).all()  # type: ignore[arg-type]
    )


def adjudicate_claims(*, session: Session, claim_ids: list[int], actor: Actor = SYSTEM) -> AdjudicationCounts:
    """Calculate a chunk of submitted claims; refuse those the rules refuse, with the reason."""
    claims = list(
        session.exec(
            select(Claim)
            .where(
                col(Claim.id).in_(claim_ids),
                Claim.status == ClaimStatus.SUBMITTED,
                col(Claim.required_levels).is_(None),
            )
            .order_by(col(Claim.id))  # earlier claims hold an invoice before later ones
        ).all()
    )
    if not claims:
        return AdjudicationCounts()
    years = {
        py.id: py
        for py in session.exec(select(PolicyYear).where(col(PolicyYear.id).in_({c.policy_year_id for c in claims})))
    }
    rules = {pid: py.policy() for pid, py in years.items()}
    versions = {pid: py.rules_version for pid, py in years.items()}
    enrolments = {
        e.id: e
        for e in session.exec(
            select(Enrolment).where(col(Enrolment.id).in_({c.enrolment_id for c in claims if c.enrolment_id}))
        )
    }
    usage = usage_of(session=session, member_ids={c.member_id for c in claims})
    invoices = _live_invoices(session=session, claims=claims)

    refused: dict[int, str] = {}
    routed: list[Claim] = []
    for claim in claims:
        policy = rules[claim.policy_year_id]
        enrolment = enrolments.get(claim.enrolment_id) if claim.enrolment_id else None
        key = (claim.member_id, claim.policy_year_id)
        try:
            calc = calculate(
                facts_of(
                    claim,
                    covered_on_admission=_covered(enrolment, claim),
                    within_deadline=as_utc(claim.submitted_at).date()
                    <= claim.discharge_date + timedelta(days=policy.filing_deadline_days),
                    used_cap_fen=usage[key].used_cap_fen(policy) if key in usage else 0,
                    times_used=usage[key].times(claim.benefit_type) if key in usage else 0,
                ),
                policy,
            )
        except ValidationFailed as exc:
            refused[claim.id or 0] = exc.message
            continue
        claim.eligible_fen = calc.eligible_fen
        claim.payout_fen = calc.payout_fen
        claim.explanation = calc.steps
        claim.required_levels = calc.required_levels
        claim.rules_version = versions[claim.policy_year_id]
        reason = calc.rejection or _claim_invoices(claim, invoices)
        if reason:
            refused[claim.id or 0] = reason
        else:
            routed.append(claim)
    session.flush()
    if refused:
        _refuse(session=session, refused=refused, actor=actor)
    return AdjudicationCounts(calculated=len(routed), rejected=len(refused))


def _covered(enrolment: Enrolment | None, claim: Claim) -> bool:
    return bool(
        enrolment
        and enrolment.status == EnrolmentStatus.ACTIVE
        and enrolment.coverage_start
        and enrolment.coverage_end
        and enrolment.coverage_start <= claim.admission_date <= enrolment.coverage_end
    )


def _live_invoices(*, session: Session, claims: list[Claim]) -> set[tuple[str, str]]:
    """(hospital, invoice number) pairs held by other live claims: calculated or further on, not refused."""
    hospitals = {c.hospital_name for c in claims if c.invoice_numbers}
    if not hospitals:
        return set()
    live_elsewhere = or_(
        col(Claim.status).in_(LIVE_CLAIM_STATUSES - {ClaimStatus.SUBMITTED}),
        and_(col(Claim.status) == ClaimStatus.SUBMITTED, col(Claim.required_levels).is_not(None)),
    )
    rows = session.exec(
        select(Claim.hospital_name, Claim.invoice_numbers).where(
            col(Claim.hospital_name).in_(hospitals),
            live_elsewhere,
            col(Claim.id).not_in({c.id for c in claims}),
        )
    ).all()
    return {(hospital, number) for hospital, numbers in rows for number in numbers or []}


def _claim_invoices(claim: Claim, invoices: set[tuple[str, str]]) -> str | None:
    """Refuse a claim whose invoice another live claim holds; otherwise it now holds its invoices."""
    for number in claim.invoice_numbers:
        if (claim.hospital_name, number) in invoices:
            return f"发票号 {number} 已在其他在办案件中使用"
    invoices.update((claim.hospital_name, number) for number in claim.invoice_numbers)
    return None


def _refuse(*, session: Session, refused: dict[int, str], actor: Actor) -> None:
    by_reason: dict[str, list[int]] = defaultdict(list)
    for claim_id, reason in refused.items():
        by_reason[reason].append(claim_id)
    for reason, ids in by_reason.items():
        change_status_bulk(
            session, Claim, ids, ClaimStatus.REJECTED, actor=actor, reason=reason,
            values={"rejection_reason": reason, "decided_at": utcnow()},
        )  # fmt: skip


def route_claims(*, session: Session, claim_ids: list[int], actor: Actor = SYSTEM) -> int:
    """Open the first-level review task of each calculated claim and move the chunk to review."""
    claims = list(
        session.exec(
            select(Claim).where(
                col(Claim.id).in_(claim_ids),
                Claim.status == ClaimStatus.SUBMITTED,
                col(Claim.required_levels).is_not(None),
            )
        ).all()
    )
    if not claims:
        return 0
    years = {
        py.id: py.policy()
        for py in session.exec(select(PolicyYear).where(col(PolicyYear.id).in_({c.policy_year_id for c in claims})))
    }
    units = {u.id: u for u in session.exec(select(OrgUnit).where(col(OrgUnit.id).in_({c.org_unit_id for c in claims})))}
    now = utcnow()
    cache: dict[tuple[int, int], int] = {}
    for claim in claims:
        policy = years[claim.policy_year_id]
        session.add(
            ApprovalTask(
                kind=TaskKind.CLAIM_REVIEW,
                claim_id=claim.id,
                level=1,
                round=claim.review_round,
                org_unit_id=level_org_id(session=session, unit=units[claim.org_unit_id], level=1, cache=cache),
                due_at=due_at(now, policy.routing.due_working_days.get(1, 3), holidays=policy.holidays),
                created_at=now,
            )
        )
        claim.current_level = 1
    session.flush()
    return len(change_status_bulk(session, Claim, [c.id or 0 for c in claims], ClaimStatus.IN_REVIEW, actor=actor))
