"""A member's use of the year's limits: the annual cap and times per year, counted over granted claims.

A claim counts once it is approved or paid (models.claims.CAP_COUNTING_STATUSES). Adjudication counts a
whole chunk's members in one query; final approval counts one member again under a lock on the member
row, so two claims finalised at once can never pass a limit together (DOMAIN 2.6 rule 4).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Integer, String, bindparam, cast, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session, col, select

from models.claims import CAP_COUNTING_STATUSES, Claim
from models.rules import PolicyRules
from models.sql import id_in


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
        .where(one_of(session, col(Claim.member_id), sorted(members)), col(Claim.status).in_(CAP_COUNTING_STATUSES))
        .group_by(Claim.member_id, Claim.policy_year_id, Claim.benefit_type)
    )
    excluded = set(exclude_claim_ids)
    if excluded:
        stmt = stmt.where(~one_of(session, col(Claim.id), sorted(excluded)))
    for member_id, year_id, benefit, total, count in session.exec(stmt).all():
        usage[(member_id, year_id)].add(str(benefit), int(total or 0), int(count))
    return usage


def one_of(session: Session, column: Any, ids: list[int]) -> ColumnElement[bool]:
    """SQL: `column IN ids`, the ids sent as one parameter and unpacked once.

    On PostgreSQL models.states.id_in compares with a text parameter cast to an array, which the server
    casts again for every row it filters (not only once, as for an index lookup): over a chunk's members
    that is thousands of array parses per row. An IN over the unnested array is evaluated once.
    """
    if session.get_bind().dialect.name == "postgresql":
        text = "{" + ",".join(map(str, map(int, ids))) + "}"
        return column.in_(select(func.unnest(cast(bindparam(None, text, type_=String), ARRAY(Integer)))))
    return id_in(session, column, ids)
