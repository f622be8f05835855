"""What-if (issue 4, item 6): a policy year's claims re-run under changed rules, beside what happened.

Which claims: those of the year that reached calculation, except the ones a reviewer rejected (a human
decision stands). Claims the rules refused are run again, since a change may grant them; a claim refused
for a reason outside the rules (a duplicate invoice: calculated with a payout, then refused) stays refused.
Each claim is calculated again by tasks.claims.benefits.calculate on its facts, with coverage on the admission
date re-derived from its enrolment (from the payment date when the waiting period changes), the filing
deadline of the changed rules, and the annual cap and times per year counted over the member's claims
granted so far, in filing order (claim id).

Actual: a claim counts as granted when the rules let it through (approved, paid, or still in review with
its calculated payout). Both sides count every granted claim as if paid (receipts less payouts, payouts
over contributions), so the difference is the change of rules alone; the fund as disclosed today (money
actually paid) is reported beside them.

Nothing is written. Only the needed columns are read, with core selects in id order and in chunks; the
report (tasks.claims.what_if_report) carries counts and amounts only, no personal data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import and_, case, exists, or_, select
from sqlmodel import Session

from models.approvals import Decision, Outcome
from models.claims import Claim, ClaimStatus
from models.enrolments import Enrolment, EnrolmentKind
from models.errors import ValidationFailed
from models.programmes import PolicyYear
from models.rules import PolicyRules
from models.what_if import WhatIfReport
from tasks.claims.benefits import calculate
from tasks.claims.coverage import covers, in_time, local_date
from tasks.claims.invoices import DUPLICATE_INVOICE_PREFIX
from tasks.claims.limits import Usage
from tasks.claims.submission import facts_of
from tasks.claims.what_if_report import Counts, Tally, build_report
from tasks.common.programmes import merged_rules

CHUNK = 10_000
CLAIM = Claim.__table__  # type: ignore[attr-defined]
ENROLMENT = Enrolment.__table__  # type: ignore[attr-defined]
DECISION = Decision.__table__  # type: ignore[attr-defined]
NOT_CALCULATED = (ClaimStatus.INCOMPLETE, ClaimStatus.SUBMITTED)  # unless required_levels says it was


def simulate(
    *, session: Session, policy_year: PolicyYear, changes: dict[str, Any], language: str = "zh-CN", chunk: int = CHUNK
) -> WhatIfReport:
    """Re-run the year's claims under its rules with `changes` laid over them; ValidationFailed if they are invalid."""
    if not isinstance(changes, dict):
        raise ValidationFailed('changes 须为 JSON 对象，例如 {"annual_cap_fen": 3000000}', code="invalid_changes")
    current = policy_year.policy()
    rules = merged_rules(current, changes)
    actual, projected, counts = Tally(current), Tally(rules), Counts()
    covered = _coverage(policy_year, current, rules)
    for row in _claim_rows(session=session, policy_year_id=policy_year.id or 0, chunk=chunk):
        actual_fen = _actual_payout(row)
        projected_fen = (
            0 if row.kept_refused else _projected_payout(row, rules, projected.usage.get(row.member_id), covered)
        )
        counts.add(row, actual_fen, projected_fen, rules_version=policy_year.rules_version)
        actual.count(row.member_id, row.benefit_type, actual_fen)
        projected.count(row.member_id, row.benefit_type, projected_fen)
    return build_report(
        session=session, policy_year=policy_year, changes=changes, actual=actual, projected=projected, counts=counts,
        language=language,
    )  # fmt: skip


def _claim_rows(*, session: Session, policy_year_id: int, chunk: int) -> Iterator[Any]:
    """The year's claims to re-run, in id order, chunk by chunk: only the columns the calculation needs."""
    reviewer_rejected = exists().where(DECISION.c.claim_id == CLAIM.c.id, DECISION.c.outcome == Outcome.REJECT)
    refused_outside_rules = and_(
        CLAIM.c.status == ClaimStatus.REJECTED,
        or_(CLAIM.c.payout_fen > 0, CLAIM.c.rejection_reason.like(f"{DUPLICATE_INVOICE_PREFIX}%")),
    )
    c, e = CLAIM.c, ENROLMENT.c
    stmt = (
        select(
            c.id, c.member_id, c.benefit_type, c.status, c.payout_fen, c.rules_version, c.admission_date,
            c.discharge_date, c.submitted_at, c.total_fen, c.basic_insurance_fen, c.serious_illness_fen,
            c.other_reimbursement_fen, c.self_paid_fen, c.requested_fen, c.diagnosis_code, c.hospital_tier,
            case((refused_outside_rules, True), else_=False).label("kept_refused"),
            e.status.label("enrolment_status"), e.kind.label("enrolment_kind"), e.paid_on, e.coverage_start,
            e.coverage_end,
        )
        .select_from(CLAIM.outerjoin(ENROLMENT, e.id == c.enrolment_id))
        .where(
            c.policy_year_id == policy_year_id,
            or_(c.required_levels.is_not(None), c.status.not_in(NOT_CALCULATED)),
            ~reviewer_rejected,
        )
        .order_by(c.id)
        .limit(chunk)
    )  # fmt: skip
    after = 0
    while True:
        rows = session.execute(stmt.where(c.id > after)).all()
        yield from rows
        if len(rows) < chunk:
            return
        after = rows[-1].id


def _actual_payout(row: Any) -> int:
    """What the claim was granted as it stands: its payout unless refused (0 means not granted)."""
    return 0 if row.status == ClaimStatus.REJECTED else max(0, row.payout_fen or 0)


def _projected_payout(row: Any, rules: PolicyRules, usage: Usage | None, covered: Callable[[Any], bool]) -> int:
    """What the claim would be granted under the changed rules, given the member's usage so far (0: refused)."""
    usage = usage or Usage()
    facts = facts_of(
        cast(Claim, row),
        covered_on_admission=covered(row),
        within_deadline=in_time(local_date(row.submitted_at), row.discharge_date, rules.filing_deadline_days),
        used_cap_fen=usage.used_cap_fen(rules),
        times_used=usage.times(row.benefit_type),
    )
    try:
        calc = calculate(facts, rules)
    except ValidationFailed:  # impossible inputs, refused by adjudication too
        return 0
    return calc.payout_fen if calc.rejection is None else 0


def _coverage(policy_year: PolicyYear, current: PolicyRules, rules: PolicyRules) -> Callable[[Any], bool]:
    """covered(row): the enrolment covers the admission date (as adjudication decides it); with a changed
    waiting period, cover starts again from the payment date (as fund collection derives it)."""
    waiting = None if rules.waiting_days == current.waiting_days else timedelta(days=rules.waiting_days)

    def start_of(row: Any) -> date | None:
        if waiting is None or row.paid_on is None:
            return cast(date | None, row.coverage_start)
        if row.enrolment_kind == EnrolmentKind.RENEWAL and row.paid_on < policy_year.starts_on:
            return policy_year.starts_on
        return max(policy_year.starts_on, row.paid_on + waiting)

    def covered(row: Any) -> bool:
        start = start_of(row)
        return covers(row.enrolment_status, start, row.coverage_end, row.admission_date)

    return covered
