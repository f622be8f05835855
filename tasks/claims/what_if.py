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
report carries counts and amounts only, no personal data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from sqlalchemy import and_, case, exists, func, or_, select
from sqlmodel import Session

from models.approvals import Decision, Outcome
from models.base import format_yuan
from models.claims import CAP_COUNTING_STATUSES, Claim, ClaimStatus
from models.enrolments import Enrolment, EnrolmentKind
from models.errors import ValidationFailed
from models.funds import FundAccount, FundReceipt, FundSource
from models.programmes import PolicyYear
from models.rules import PolicyRules
from models.what_if import BenefitFigures, Difference, Figures, RuleChange, WhatIfReport
from tasks.claims.benefits import calculate
from tasks.claims.coverage import covers, in_time, local_date
from tasks.claims.invoices import DUPLICATE_INVOICE_PREFIX
from tasks.claims.limits import Usage
from tasks.claims.submission import facts_of
from tasks.common.programmes import merged_rules

CHUNK = 10_000
CLAIM = Claim.__table__  # type: ignore[attr-defined]
ENROLMENT = Enrolment.__table__  # type: ignore[attr-defined]
DECISION = Decision.__table__  # type: ignore[attr-defined]
RECEIPT = FundReceipt.__table__  # type: ignore[attr-defined]
NOT_CALCULATED = (ClaimStatus.INCOMPLETE, ClaimStatus.SUBMITTED)  # unless required_levels says it was
RATIO_PLACES = Decimal("0.0001")


@dataclass
class _Tally:
    """Running figures of one side, with each member's usage of the year's limits."""

    rules: PolicyRules
    granted: int = 0
    refused: int = 0
    payouts_fen: int = 0
    by_benefit: dict[str, list[int]] = field(default_factory=dict)
    usage: defaultdict[int, Usage] = field(default_factory=lambda: defaultdict(Usage))

    def grant(self, member_id: int, benefit: str, amount_fen: int) -> None:
        """Count a granted claim, and add it to the member's usage."""
        self.granted += 1
        self.payouts_fen += amount_fen
        counts = self.by_benefit.setdefault(benefit, [0, 0])
        counts[0] += 1
        counts[1] += amount_fen
        self.usage[member_id].add(benefit, amount_fen)

    def members_at_cap(self) -> int:
        """Members whose granted claims within the cap have reached it."""
        cap = self.rules.annual_cap_fen
        return 0 if cap is None else sum(1 for u in self.usage.values() if u.used_cap_fen(self.rules) >= cap)

    def figures(self, *, ratio: Decimal, balance_fen: int, labels: dict[str, str]) -> Figures:
        """This side's figures, with a line for each benefit in `labels` (both sides list the same)."""
        return Figures(
            claims_granted=self.granted,
            claims_refused=self.refused,
            payouts_fen=self.payouts_fen,
            payouts_yuan=format_yuan(self.payouts_fen),
            by_benefit=[
                BenefitFigures(benefit_type=b, label=label, claims=n, payouts_fen=fen, payouts_yuan=format_yuan(fen))
                for b, label in labels.items()
                for n, fen in [self.by_benefit.get(b, (0, 0))]
            ],
            claim_ratio=ratio,
            fund_balance_fen=balance_fen,
            fund_balance_yuan=format_yuan(balance_fen),
            members_at_cap=self.members_at_cap(),
        )


def simulate(
    *, session: Session, policy_year: PolicyYear, changes: dict[str, Any], language: str = "zh-CN", chunk: int = CHUNK
) -> WhatIfReport:
    """Re-run the year's claims under its rules with `changes` laid over them; ValidationFailed if they are invalid."""
    if not isinstance(changes, dict):
        raise ValidationFailed('changes 须为 JSON 对象，例如 {"annual_cap_fen": 3000000}', code="invalid_changes")
    current = policy_year.policy()
    rules = merged_rules(current, changes)
    actual, projected = _Tally(current), _Tally(rules)
    covered = _coverage(policy_year, current, rules)
    considered = in_review = kept_refused = earlier = up = down = 0
    for row in _claim_rows(session=session, policy_year_id=policy_year.id or 0, chunk=chunk):
        considered += 1
        earlier += row.rules_version is not None and row.rules_version != policy_year.rules_version
        actual_fen = _actual_payout(row)
        if actual_fen:
            actual.grant(row.member_id, row.benefit_type, actual_fen)
            in_review += row.status not in CAP_COUNTING_STATUSES
        else:
            actual.refused += 1
        projected_fen = 0
        if row.kept_refused:
            kept_refused += 1
        else:
            usage = projected.usage.get(row.member_id) or Usage()
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
                calc = None
            if calc is not None and calc.rejection is None:
                projected_fen = calc.payout_fen
        if projected_fen > 0:
            projected.grant(row.member_id, row.benefit_type, projected_fen)
        else:
            projected.refused += 1
        up += projected_fen > actual_fen
        down += projected_fen < actual_fen
    return _report(
        session=session, policy_year=policy_year, changes=changes, actual=actual, projected=projected,
        language=language, counts=(considered, in_review, kept_refused, earlier, up, down),
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


def _coverage(policy_year: PolicyYear, current: PolicyRules, rules: PolicyRules) -> Any:
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


def _report(
    *,
    session: Session,
    policy_year: PolicyYear,
    changes: dict[str, Any],
    actual: _Tally,
    projected: _Tally,
    language: str,
    counts: tuple[int, int, int, int, int, int],
) -> WhatIfReport:
    considered, in_review, kept_refused, earlier, up, down = counts
    account = session.execute(
        select(FundAccount.receipts_fen, FundAccount.payouts_fen, FundAccount.balance_fen).where(  # type: ignore[call-overload]
            FundAccount.policy_year_id == policy_year.id
        )
    ).first()
    receipts, paid, balance = account if account is not None else (0, 0, 0)
    contributions = int(
        session.execute(
            select(func.coalesce(func.sum(RECEIPT.c.amount_fen), 0)).where(
                RECEIPT.c.policy_year_id == policy_year.id, RECEIPT.c.source == FundSource.CONTRIBUTION
            )
        ).scalar_one()
    )
    excluded = session.execute(
        select(func.count()).where(
            CLAIM.c.policy_year_id == policy_year.id,
            exists().where(DECISION.c.claim_id == CLAIM.c.id, DECISION.c.outcome == Outcome.REJECT),
        )
    ).scalar_one()
    keys = dict.fromkeys([*actual.rules.benefits, *projected.rules.benefits, *actual.by_benefit, *projected.by_benefit])
    labels = {key: _label(projected.rules, actual.rules, key, language) for key in keys}
    # like with like: both sides count every granted claim as paid; the fund as disclosed today is beside them
    now = actual.figures(
        ratio=claim_ratio(actual.payouts_fen, contributions), balance_fen=receipts - actual.payouts_fen, labels=labels
    )
    then = projected.figures(
        ratio=claim_ratio(projected.payouts_fen, contributions), balance_fen=receipts - projected.payouts_fen,
        labels=labels,
    )  # fmt: skip
    return WhatIfReport(
        year=policy_year.year,
        rules_version=policy_year.rules_version,
        changes=changes,
        rules_changed=rule_changes(actual.rules, projected.rules),
        claims_considered=considered,
        claims_in_review=in_review,
        claims_under_earlier_rules=earlier,
        claims_excluded_reviewer_rejected=int(excluded),
        claims_kept_refused=kept_refused,
        contributions_fen=contributions,
        contributions_yuan=format_yuan(contributions),
        receipts_fen=receipts,
        receipts_yuan=format_yuan(receipts),
        paid_to_date_fen=paid,
        paid_to_date_yuan=format_yuan(paid),
        disclosed_claim_ratio=claim_ratio(paid, contributions),
        disclosed_fund_balance_fen=balance,
        disclosed_fund_balance_yuan=format_yuan(balance),
        actual=now,
        projected=then,
        difference=Difference(
            claims_granted=then.claims_granted - now.claims_granted,
            payouts_fen=then.payouts_fen - now.payouts_fen,
            payouts_yuan=format_yuan(then.payouts_fen - now.payouts_fen),
            claim_ratio=then.claim_ratio - now.claim_ratio,
            fund_balance_fen=then.fund_balance_fen - now.fund_balance_fen,
            fund_balance_yuan=format_yuan(then.fund_balance_fen - now.fund_balance_fen),
            members_at_cap=then.members_at_cap - now.members_at_cap,
        ),
        payouts_up=up,
        payouts_down=down,
        payouts_unchanged=considered - up - down,
    )


def claim_ratio(payouts_fen: int, contributions_fen: int) -> Decimal:
    """Payouts / contributions received, to 4 places half up (0 without contributions), as disclosed."""
    if not contributions_fen:
        return Decimal(0)
    return (Decimal(payouts_fen) / Decimal(contributions_fen)).quantize(RATIO_PLACES, ROUND_HALF_UP)


def rule_changes(before: PolicyRules, after: PolicyRules) -> list[RuleChange]:
    """The rule values that differ, by dotted path (e.g. benefits.hospitalisation.ratio)."""
    found: list[RuleChange] = []

    def walk(path: str, old: Any, new: Any) -> None:
        if isinstance(old, dict) and isinstance(new, dict):
            for key in [*old, *(k for k in new if k not in old)]:
                walk(f"{path}.{key}" if path else str(key), old.get(key), new.get(key))
        elif old != new:
            found.append(RuleChange(path=path, before=old, after=new))

    walk("", before.model_dump(mode="json"), after.model_dump(mode="json"))
    return found


def _label(rules: PolicyRules, earlier: PolicyRules, benefit: str, language: str) -> str:
    rule = rules.benefits.get(benefit) or earlier.benefits.get(benefit)
    if rule is None:
        return benefit
    return (rule.label_en or rule.label_zh) if language == "en" else rule.label_zh
