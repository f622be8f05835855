"""A quote (测算): what a claim would pay and why, under the year's current rules, without filing anything.

Given claim data, and optionally the member, it runs the same engine and the same checks as adjudication:
coverage on the admission date, the filing deadline as of today, the member's remaining annual cap and
times per year, and whether an invoice is already held by a live claim. It only reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, select

from models.claims import ClaimInput
from models.enrolments import Enrolment
from models.members import Member
from models.programmes import PolicyYear
from tasks.claims.benefits import Calculation, ClaimFacts, benefit_rule, calculate
from tasks.claims.coverage import covers, in_time
from tasks.claims.invoices import duplicate_invoice_reason, held_invoices
from tasks.claims.limits import Usage, usage_of
from tasks.claims.submission import amounts_in_fen, claim_policy_year


@dataclass
class Quote:
    """The calculation with its context: the year, the rules version, the member's remaining limits."""

    policy_year: PolicyYear
    benefit_type: str
    benefit_label_zh: str
    benefit_label_en: str
    calculation: Calculation
    member_known: bool
    remaining_cap_fen: int | None  # None: this benefit or year has no annual cap
    times_used: int
    times_per_year: int | None
    blocked_invoices: list[str] = field(default_factory=list)

    @property
    def rejection(self) -> str | None:
        """Why the claim would be refused, if it would."""
        if self.blocked_invoices:
            return duplicate_invoice_reason(self.blocked_invoices[0])
        return self.calculation.rejection

    @property
    def payout_fen(self) -> int:
        """What the claim would pay (0 when refused)."""
        return 0 if self.rejection else self.calculation.payout_fen


def facts_from_input(data: ClaimInput, **context: object) -> ClaimFacts:
    """Calculation inputs from claim data as the applicant gives it (yuan → fen)."""
    return ClaimFacts(
        benefit_type=data.benefit_type,
        **amounts_in_fen(data),  # type: ignore[arg-type]
        diagnosis_code=data.diagnosis_code,
        hospital_tier=str(data.hospital_tier) if data.hospital_tier else None,
        **context,  # type: ignore[arg-type]
    )


def quote(
    *, session: Session, programme_id: int, data: ClaimInput, member: Member | None = None, today: date | None = None
) -> Quote:
    """Compute the payout and explanation for claim data (ValidationFailed for impossible data)."""
    today = today or date.today()
    policy_year = claim_policy_year(session=session, programme_id=programme_id, data=data, today=today)
    rules = policy_year.policy()
    rule = benefit_rule(rules, data.benefit_type)
    covered, usage = _member_standing(session=session, member=member, policy_year=policy_year, data=data)
    calc = calculate(
        facts_from_input(
            data,
            covered_on_admission=covered,
            within_deadline=in_time(today, data.end_date, rules.filing_deadline_days),
            used_cap_fen=usage.used_cap_fen(rules),
            times_used=usage.times(data.benefit_type),
        ),
        rules,
    )
    capped = rules.annual_cap_fen is not None and rule.within_annual_cap
    return Quote(
        policy_year=policy_year,
        benefit_type=data.benefit_type,
        benefit_label_zh=rule.label_zh,
        benefit_label_en=rule.label_en or rule.label_zh,
        calculation=calc,
        member_known=member is not None,
        remaining_cap_fen=max(0, (rules.annual_cap_fen or 0) - usage.used_cap_fen(rules)) if capped else None,
        times_used=usage.times(data.benefit_type),
        times_per_year=rule.times_per_year,
        blocked_invoices=_blocked_invoices(session=session, data=data),
    )


def _member_standing(
    *, session: Session, member: Member | None, policy_year: PolicyYear, data: ClaimInput
) -> tuple[bool, Usage]:
    """Whether the member is covered on the admission date, and their usage of the year's limits so far
    (covered, nothing used, when no member is given)."""
    if member is None:
        return True, Usage()
    enrolment = session.exec(
        select(Enrolment).where(Enrolment.member_id == member.id, Enrolment.policy_year_id == policy_year.id)
    ).first()
    covered = enrolment is not None and covers(
        enrolment.status, enrolment.coverage_start, enrolment.coverage_end, data.admission_date
    )
    usage = usage_of(session=session, member_ids=[member.id or 0]).get((member.id or 0, policy_year.id or 0), Usage())
    return covered, usage


def _blocked_invoices(*, session: Session, data: ClaimInput) -> list[str]:
    """The claim's invoice numbers a live claim already holds at the same hospital."""
    hospital = data.hospital_name.strip()
    held = held_invoices(session=session, hospitals={hospital}, numbers=data.invoice_numbers)
    return [n for n in data.invoice_numbers if (hospital, n) in held]
