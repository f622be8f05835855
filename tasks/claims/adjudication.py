"""Adjudication of submitted claims in chunks: coverage, deadline, duplicate invoices, payout; then routing.

Set-based, so that a city's 100,000 claims move well within the minute issue 4 allows (see
benchmarks/bench_adjudication.py): each chunk reads its claims, their enrolments, the members' granted
claims (cap usage) and the live invoices it could collide with in one query each, as plain rows (no ORM
objects); writes the calculations back in one statement (UPDATE ... FROM a JSON record set on PostgreSQL,
an executemany on SQLite); and refuses the claims the rules refuse in one bulk status change (one audit
event per claim, with its own reason). Routing the calculated claims to review is the approval step's
(tasks.approval.routing.route_claims).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import Integer, bindparam, column, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from models.base import utcnow
from models.claims import Claim, ClaimStatus
from models.enrolments import Enrolment, EnrolmentStatus
from models.errors import ValidationFailed
from models.events import ClaimRejected
from models.programmes import PolicyYear
from models.rules import PolicyRules
from models.sql import id_in
from models.states import SYSTEM, Actor, change_status_bulk, emit_all
from tasks.claims.benefits import Calculation, calculate
from tasks.claims.coverage import COVERING_STATUSES, covers, in_time, local_date
from tasks.claims.invoices import duplicate_invoice_reason, held_invoices
from tasks.claims.limits import Usage, usage_of
from tasks.claims.submission import facts_of
from tasks.common.bulk import recordset

CLAIM = Claim.__table__  # type: ignore[attr-defined]
ENROLMENT = Enrolment.__table__  # type: ignore[attr-defined]
# What a calculation reads of a claim (tasks.claims.submission.facts_of and the checks); never the diagnosis text.
FACT_COLUMNS = (
    "id", "member_id", "enrolment_id", "policy_year_id", "benefit_type", "admission_date", "discharge_date",
    "submitted_at", "hospital_name", "hospital_tier", "diagnosis_code", "invoice_numbers", "total_fen",
    "basic_insurance_fen", "serious_illness_fen", "other_reimbursement_fen", "self_paid_fen", "requested_fen",
)  # fmt: skip
CALCULATED = ("eligible_fen", "payout_fen", "explanation", "required_levels", "rules_version")


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
    session.flush()
    claims = session.execute(
        select(*(CLAIM.c[name] for name in FACT_COLUMNS))
        .where(
            id_in(session, CLAIM.c.id, claim_ids),
            CLAIM.c.status == ClaimStatus.SUBMITTED,
            CLAIM.c.required_levels.is_(None),
        )
        .order_by(CLAIM.c.id)  # earlier claims hold an invoice before later ones
    ).all()
    if not claims:
        return AdjudicationCounts()
    known = _ChunkFacts.read(session, claims)
    refused: dict[int, str] = {}
    calculations: list[dict[str, Any]] = []
    for claim in claims:
        try:
            calc = known.calculate(claim)
        except ValidationFailed as exc:
            refused[claim.id] = exc.message
            continue
        calculations.append(
            {
                "claim_id": claim.id,
                "eligible_fen": calc.eligible_fen,
                "payout_fen": calc.payout_fen,
                "explanation": calc.steps,
                "required_levels": calc.required_levels,
                "rules_version": known.versions[claim.policy_year_id],
            }
        )
        reason = calc.rejection or _claim_invoices(claim.hospital_name, claim.invoice_numbers or [], known.invoices)
        if reason:
            refused[claim.id] = reason
    _write(session=session, columns=CALCULATED, rows=calculations)
    if refused:
        _refuse(session=session, refused=refused, actor=actor)
    return AdjudicationCounts(calculated=len(claims) - len(refused), rejected=len(refused))


@dataclass
class _ChunkFacts:
    """What a chunk's calculations need besides the claims, read in one query each: the years' rules and
    versions, the enrolments' coverage, the members' use of the limits, and the invoices others hold."""

    rules: dict[int, PolicyRules]
    versions: dict[int, int]
    coverage: dict[int, tuple[date, date] | None]
    usage: dict[tuple[int, int], Usage]
    invoices: set[tuple[str, str]]

    @classmethod
    def read(cls, session: Session, claims: Sequence[Any]) -> _ChunkFacts:
        """The facts of a chunk of claim rows (FACT_COLUMNS)."""
        years = session.exec(select(PolicyYear).where(col(PolicyYear.id).in_({c.policy_year_id for c in claims})))
        by_id = {py.id or 0: py for py in years}
        # the chunk's own claims are not live yet: they are left out of the invoices other claims hold
        invoices = held_invoices(
            session=session,
            hospitals={c.hospital_name for c in claims if c.invoice_numbers},
            numbers={n for c in claims for n in c.invoice_numbers or []},
            exclude_claim_ids={c.id for c in claims},
        )
        return cls(
            rules={pid: py.policy() for pid, py in by_id.items()},
            versions={pid: py.rules_version for pid, py in by_id.items()},
            coverage=_coverage(session=session, enrolment_ids={c.enrolment_id for c in claims if c.enrolment_id}),
            usage=usage_of(session=session, member_ids={c.member_id for c in claims}),
            invoices=invoices,
        )

    def calculate(self, claim: Any) -> Calculation:
        """The benefit engine on one claim row, with its coverage, deadline and the member's use of the limits."""
        policy = self.rules[claim.policy_year_id]
        used = self.usage.get((claim.member_id, claim.policy_year_id))
        facts = facts_of(
            cast(Claim, claim),  # a row with the columns facts_of reads
            covered_on_admission=_covered(self.coverage.get(claim.enrolment_id), claim.admission_date),
            within_deadline=in_time(local_date(claim.submitted_at), claim.discharge_date, policy.filing_deadline_days),
            used_cap_fen=used.used_cap_fen(policy) if used is not None else 0,
            times_used=used.times(claim.benefit_type) if used is not None else 0,
        )
        return calculate(facts, policy)


def _coverage(*, session: Session, enrolment_ids: set[int]) -> dict[int, tuple[date, date] | None]:
    """Per enrolment: its coverage window if it covers at all (paid, or lapsed within its dates), else None."""
    if not enrolment_ids:
        return {}
    rows = session.execute(
        select(ENROLMENT.c.id, ENROLMENT.c.status, ENROLMENT.c.coverage_start, ENROLMENT.c.coverage_end).where(
            id_in(session, ENROLMENT.c.id, sorted(enrolment_ids))
        )
    ).all()
    return {
        e.id: (e.coverage_start, e.coverage_end)
        if e.status in COVERING_STATUSES and e.coverage_start and e.coverage_end
        else None
        for e in rows
    }


def _covered(window: tuple[date, date] | None, admission: date) -> bool:
    return window is not None and covers(EnrolmentStatus.ACTIVE, window[0], window[1], admission)


def _claim_invoices(hospital: str, numbers: Iterable[str], invoices: set[tuple[str, str]]) -> str | None:
    """Refuse a claim whose invoice another live claim holds; otherwise it now holds its invoices."""
    numbers = list(numbers)
    for number in numbers:
        if (hospital, number) in invoices:
            return duplicate_invoice_reason(number)
    invoices.update((hospital, number) for number in numbers)
    return None


def _write(*, session: Session, columns: Sequence[str], rows: list[dict[str, Any]]) -> None:
    """Set `columns` of submitted claims, one dict per claim, in the database and in the copies this session
    holds."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        # One statement for the chunk: the rows travel as one JSON document (an executemany of
        # thousands of UPDATEs costs several times more round trips and parsing).
        given = recordset(rows, [column("claim_id", Integer), *(column(name, CLAIM.c[name].type) for name in columns)])
        session.execute(
            update(CLAIM)
            .where(CLAIM.c.id == given.c.claim_id, CLAIM.c.status == ClaimStatus.SUBMITTED)
            .values({name: given.c[name] for name in columns})
        )
    else:
        session.execute(
            update(CLAIM)
            .where(CLAIM.c.id == bindparam("claim_id"), CLAIM.c.status == ClaimStatus.SUBMITTED)
            .values({name: bindparam(name) for name in columns}),
            rows,
        )
    _sync_loaded(session, {row["claim_id"]: {name: row[name] for name in columns} for row in rows})


def _sync_loaded(session: Session, values: Mapping[int, Mapping[str, Any]]) -> None:
    """Keep Claim objects already loaded in this session in step with rows just written."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Claim) and (written := values.get(obj.id or 0)) is not None:
            for name, value in written.items():
                set_committed_value(obj, name, value)


def _refuse(*, session: Session, refused: dict[int, str], actor: Actor) -> None:
    """Reject the refused claims in one bulk change; each keeps (and its audit event records) its reason."""
    _write(
        session=session,
        columns=("rejection_reason",),
        rows=[{"claim_id": claim_id, "rejection_reason": reason} for claim_id, reason in refused.items()],
    )
    now = utcnow()
    moved = change_status_bulk(
        session, Claim, sorted(refused), ClaimStatus.REJECTED, actor=actor, reasons=refused,
        values={"decided_at": now},
    )  # fmt: skip
    # The applicant is told in writing (the letter is written from this event).
    emit_all(session, [ClaimRejected(claim_id=i, reason=refused[i], decided_at=now) for i in moved], at=now)
