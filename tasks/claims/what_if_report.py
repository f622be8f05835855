"""The figures of a what-if run (tasks.claims.what_if): each side's running tally, the run's counts, and the
report built from them beside the fund as disclosed today.

Both sides count every granted claim as if paid (receipts less payouts, payouts over contributions), so the
difference is the change of rules alone. The report carries counts and amounts only, no personal data.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import exists, func, select
from sqlmodel import Session

from models.approvals import Decision, Outcome
from models.base import format_yuan
from models.claims import CAP_COUNTING_STATUSES, Claim
from models.funds import FundAccount, FundReceipt, FundSource
from models.programmes import PolicyYear
from models.rules import PolicyRules
from models.what_if import BenefitFigures, Difference, Figures, RuleChange, WhatIfReport
from tasks.claims.limits import Usage

CLAIM = Claim.__table__  # type: ignore[attr-defined]
DECISION = Decision.__table__  # type: ignore[attr-defined]
RECEIPT = FundReceipt.__table__  # type: ignore[attr-defined]
RATIO_PLACES = Decimal("0.0001")


@dataclass
class Tally:
    """Running figures of one side, with each member's usage of the year's limits."""

    rules: PolicyRules
    granted: int = 0
    refused: int = 0
    payouts_fen: int = 0
    by_benefit: dict[str, list[int]] = field(default_factory=dict)
    usage: defaultdict[int, Usage] = field(default_factory=lambda: defaultdict(Usage))

    def count(self, member_id: int, benefit: str, amount_fen: int) -> None:
        """Count a claim: granted when it pays something, else refused."""
        if amount_fen > 0:
            self.grant(member_id, benefit, amount_fen)
        else:
            self.refused += 1

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


@dataclass
class Counts:
    """How the run's claims fell: considered, in review, kept refused, under earlier rules, paying more or less."""

    considered: int = 0
    in_review: int = 0
    kept_refused: int = 0
    earlier: int = 0
    up: int = 0
    down: int = 0

    def add(self, row: Any, actual_fen: int, projected_fen: int, *, rules_version: int) -> None:
        """Count one claim re-run, with what it was granted and what it would be."""
        self.considered += 1
        self.earlier += row.rules_version is not None and row.rules_version != rules_version
        self.in_review += actual_fen > 0 and row.status not in CAP_COUNTING_STATUSES
        self.kept_refused += bool(row.kept_refused)
        self.up += projected_fen > actual_fen
        self.down += projected_fen < actual_fen


@dataclass(frozen=True)
class _Fund:
    """The year's fund as the account and the receipts record it."""

    contributions_fen: int
    receipts_fen: int
    paid_fen: int
    balance_fen: int


def build_report(
    *, session: Session, policy_year: PolicyYear, changes: dict[str, Any], actual: Tally, projected: Tally,
    counts: Counts, language: str,
) -> WhatIfReport:  # fmt: skip
    """The report of a finished run: both sides' figures, their difference, and the fund as disclosed today."""
    fund = _fund(session=session, policy_year=policy_year)
    labels = _labels(actual, projected, language)
    # like with like: both sides count every granted claim as paid; the fund as disclosed today is beside them
    now, then = (
        side.figures(
            ratio=claim_ratio(side.payouts_fen, fund.contributions_fen),
            balance_fen=fund.receipts_fen - side.payouts_fen,
            labels=labels,
        )
        for side in (actual, projected)
    )
    return WhatIfReport(
        year=policy_year.year, rules_version=policy_year.rules_version, changes=changes,
        rules_changed=rule_changes(actual.rules, projected.rules),
        claims_considered=counts.considered, claims_in_review=counts.in_review,
        claims_under_earlier_rules=counts.earlier,
        claims_excluded_reviewer_rejected=_reviewer_rejected(session=session, policy_year=policy_year),
        claims_kept_refused=counts.kept_refused,
        contributions_fen=fund.contributions_fen, contributions_yuan=format_yuan(fund.contributions_fen),
        receipts_fen=fund.receipts_fen, receipts_yuan=format_yuan(fund.receipts_fen),
        paid_to_date_fen=fund.paid_fen, paid_to_date_yuan=format_yuan(fund.paid_fen),
        disclosed_claim_ratio=claim_ratio(fund.paid_fen, fund.contributions_fen),
        disclosed_fund_balance_fen=fund.balance_fen, disclosed_fund_balance_yuan=format_yuan(fund.balance_fen),
        actual=now, projected=then, difference=_difference(now, then),
        payouts_up=counts.up, payouts_down=counts.down, payouts_unchanged=counts.considered - counts.up - counts.down,
    )  # fmt: skip


def _fund(*, session: Session, policy_year: PolicyYear) -> _Fund:
    """The account's receipts, payouts and balance (0 without an account), and the contributions received."""
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
    return _Fund(contributions_fen=contributions, receipts_fen=receipts, paid_fen=paid, balance_fen=balance)


def _reviewer_rejected(*, session: Session, policy_year: PolicyYear) -> int:
    """The year's claims a reviewer rejected, left out of the run."""
    return int(
        session.execute(
            select(func.count()).where(
                CLAIM.c.policy_year_id == policy_year.id,
                exists().where(DECISION.c.claim_id == CLAIM.c.id, DECISION.c.outcome == Outcome.REJECT),
            )
        ).scalar_one()
    )


def _difference(now: Figures, then: Figures) -> Difference:
    """Projected − actual."""
    return Difference(
        claims_granted=then.claims_granted - now.claims_granted,
        payouts_fen=then.payouts_fen - now.payouts_fen,
        payouts_yuan=format_yuan(then.payouts_fen - now.payouts_fen),
        claim_ratio=then.claim_ratio - now.claim_ratio,
        fund_balance_fen=then.fund_balance_fen - now.fund_balance_fen,
        fund_balance_yuan=format_yuan(then.fund_balance_fen - now.fund_balance_fen),
        members_at_cap=then.members_at_cap - now.members_at_cap,
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


def _labels(actual: Tally, projected: Tally, language: str) -> dict[str, str]:
    """Each benefit either side's rules name or either side granted, with its label (both sides list the same)."""
    keys = dict.fromkeys([*actual.rules.benefits, *projected.rules.benefits, *actual.by_benefit, *projected.by_benefit])
    return {key: _label(projected.rules, actual.rules, key, language) for key in keys}


def _label(rules: PolicyRules, earlier: PolicyRules, benefit: str, language: str) -> str:
    rule = rules.benefits.get(benefit) or earlier.benefits.get(benefit)
    if rule is None:
        return benefit
    return (rule.label_en or rule.label_zh) if language == "en" else rule.label_zh
