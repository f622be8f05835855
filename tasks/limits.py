"""A member's use of the year's limits: the annual cap and times per year, counted over granted claims.

A claim counts once it is approved or paid (models.claims.CAP_COUNTING_STATUSES). Adjudication counts a
whole chunk's members in one query; final approval counts one member again under a lock on the member
row, so two claims finalised at once can never pass a limit together (DOMAIN 2.6 rule 4).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import Session, col, select

from models.claims import CAP_COUNTING_STATUSES, Claim
from models.rules import PolicyRules


@dataclass
class Usage:
    """What one member has been granted in one policy year, per benefit: (amount in fen, number of claims)."""

    by_benefit: dict[str, tuple[int, int]] = field(default_factory=dict)

    def add(self, benefit: str, amount_fen: int, claims: int = 1) -> None:
        """Count a granted claim (or `claims` of them totalling `amount_fen`)."""
        total, count = self.by_benefit.get(benefit, (0, 0))
        self.by_benefit[benefit] = (total + amount_fen, count + claims)

    def used_cap_fen(self, rules: PolicyRules) -> int:
        """Granted amounts of the benefits that count against the annual cap."""
        return sum(
            total
            for benefit, (total, _count) in self.by_benefit.items()
            if (rule := rules.benefits.get(benefit)) is None or rule.within_annual_cap
        )

    def times(self, benefit: str) -> int:
        """Granted claims of one benefit."""
        return self.by_benefit.get(benefit, (0, 0))[1]


def usage_of(
    *, session: Session, member_ids: Iterable[int], exclude_claim_ids: Iterable[int] = ()
) -> dict[tuple[int, int], Usage]:
    """Per (member, policy year): the member's granted claims, excluding the given claims."""
    members = set(member_ids)
    usage: dict[tuple[int, int], Usage] = defaultdict(Usage)
    if not members:
        return usage
    stmt = (
        select(  # type: ignore[call-overload]
            Claim.member_id, Claim.policy_year_id, Claim.benefit_type, func.sum(Claim.payout_fen), func.count()
        )
        .where(col(Claim.member_id).in_(members), col(Claim.status).in_(CAP_COUNTING_STATUSES))
        .group_by(Claim.member_id, Claim.policy_year_id, Claim.benefit_type)  # type: ignore[arg-type]
    )
    excluded = set(exclude_claim_ids)
    if excluded:
        stmt = stmt.where(col(Claim.id).not_in(excluded))
    for member_id, year_id, benefit, total, count in session.exec(stmt).all():
        usage[(member_id, year_id)].add(str(benefit), int(total or 0), int(count))
    return usage
