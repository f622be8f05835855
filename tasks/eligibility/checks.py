"""Automatic eligibility review (DOMAIN 2.3) of registered enrolments, a chunk at a time, decided in SQL.

The rules of each enrolment's policy year (tasks.eligibility.year_rules) cover the region, the employment
statuses and the age range (tasks.eligibility.age), plus the programme's bar list (tasks.eligibility.bar_list)
and the member's own `barred` flag. One query per policy year in the chunk works out, for every enrolment,
which rules it breaks as a bit mask, so Python only groups ids; each group is one call of the status gate.
What the rules cannot decide (an enrolment made at a unit that is not a grassroots union) goes to a human
review task (tasks.eligibility.review_tasks).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Integer, case, cast, literal, not_, or_, select
from sqlmodel import Session

from models.enrolments import Enrolment, EnrolmentStatus
from models.members import Member
from models.org import OrgLevel, OrgUnit
from models.sql import id_in
from models.states import SYSTEM, Actor, change_status_bulk
from tasks.eligibility.age import age_span
from tasks.eligibility.bar_list import barred_clause
from tasks.eligibility.review_tasks import open_review_tasks
from tasks.eligibility.year_rules import AGE, BAR, EMPLOYMENT, NOT_GRASSROOTS, REGION, REVIEW, YearRules, year_rules

ENROLMENT = Enrolment.__table__  # type: ignore[attr-defined]
MEMBER = Member.__table__  # type: ignore[attr-defined]
ORG_UNIT = OrgUnit.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class EligibilityCounts:
    """How many enrolments of a chunk went each way, and how many per reason (not part of equality)."""

    eligible: int
    ineligible: int
    needs_review: int
    by_reason: dict[str, int] = field(default_factory=dict, compare=False)


def _bits(checks: list[tuple[int, ColumnElement[bool]]]) -> ColumnElement[int]:
    """SQL: the sum of the bits whose check is true."""
    mask: ColumnElement[int] = literal(0, Integer)
    for bit, broken in checks:
        mask = mask + case((broken, bit), else_=0)
    return cast(mask, Integer)


def broken_rules_mask(year: YearRules, unit: Any) -> ColumnElement[int]:
    """SQL: the bits of the rules an enrolment (joined to its unit) breaks, plus REVIEW.

    The member's rules are a correlated subquery, one primary-key lookup per enrolment: as a join,
    PostgreSQL's default costs prefer to hash the whole member table for every chunk.
    """
    e, m, rules = ENROLMENT, MEMBER, year.rules
    span = age_span(e.c.registered_at, year.starts_on, m.c.birth_date)
    member_bits = (
        select(
            _bits(
                [
                    (EMPLOYMENT, m.c.employment_status.not_in(rules.employment_statuses)),
                    (AGE, or_(span < rules.age_min * 10000, span >= (rules.age_max + 1) * 10000)),
                    (BAR, or_(m.c.barred, barred_clause(year.programme_id, m.c.id_number))),
                ]
            )
        )
        .where(m.c.id == e.c.member_id)
        .scalar_subquery()
    )
    in_region = or_(*(unit.c.path.startswith(path) for path in year.region_paths))
    unit_bits = _bits([(REGION, not_(in_region)), (REVIEW, unit.c.level != str(OrgLevel.GRASSROOTS))])
    return cast(unit_bits + member_bits, Integer)


@dataclass
class _Decisions:
    """What the rules said about a chunk: eligible ids, ineligible ids per reason, ids needing review."""

    eligible: list[int] = field(default_factory=list)
    ineligible: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    review: list[int] = field(default_factory=list)


def _decide(session: Session, registered: tuple[ColumnElement[bool], ...], years: dict[int, YearRules]) -> _Decisions:
    """One query per policy year: each enrolment's mask of broken rules, grouped by outcome and reason."""
    e, unit = ENROLMENT, ORG_UNIT.alias("unit")
    decisions = _Decisions()
    for year in years.values():
        rows = session.execute(
            select(e.c.id, broken_rules_mask(year, unit))
            .join(unit, unit.c.id == e.c.org_unit_id)
            .where(*registered, e.c.policy_year_id == year.policy_year_id)
            .with_for_update(of=e)  # decided rows stay registered until moved, even with two runs at once
        ).all()
        by_mask: dict[int, list[int]] = defaultdict(list)
        for enrolment_id, mask in rows:
            by_mask[mask].append(enrolment_id)
        for mask, ids in by_mask.items():
            if mask & ~REVIEW:
                decisions.ineligible[year.reason(mask)].extend(ids)
            elif mask:
                decisions.review.extend(ids)
            else:
                decisions.eligible.extend(ids)
    return decisions


def check_enrolments(
    *, session: Session, enrolment_ids: list[int], actor: Actor = SYSTEM, policy_year_id: int | None = None
) -> EligibilityCounts:
    """Decide the registered enrolments of a chunk: eligible, ineligible (with reason) or needs review.

    A caller that knows the chunk's policy year (the flow does) passes `policy_year_id`, which saves a
    look-up; then only enrolments of that year are decided.
    """
    e = ENROLMENT
    registered = (id_in(session, e.c.id, enrolment_ids), e.c.status == str(EnrolmentStatus.REGISTERED))
    if policy_year_id is None:
        year_ids = set(session.scalars(select(e.c.policy_year_id).where(*registered).distinct()))
    else:
        year_ids = {policy_year_id}
    decisions = _decide(session, registered, year_rules(session=session, policy_year_ids=year_ids))
    by_reason: dict[str, int] = {}
    moved_eligible = change_status_bulk(session, Enrolment, decisions.eligible, EnrolmentStatus.ELIGIBLE, actor=actor)
    for reason, ids in decisions.ineligible.items():
        moved = change_status_bulk(
            session, Enrolment, ids, EnrolmentStatus.INELIGIBLE, actor=actor, reason=reason, values={"reason": reason}
        )
        if moved:
            by_reason[reason] = len(moved)
    moved_review = change_status_bulk(
        session, Enrolment, decisions.review, EnrolmentStatus.NEEDS_REVIEW, actor=actor, reason=NOT_GRASSROOTS,
        values={"reason": NOT_GRASSROOTS},
    )  # fmt: skip
    if moved_review:
        by_reason[NOT_GRASSROOTS] = len(moved_review)
        open_review_tasks(session=session, enrolment_ids=moved_review)
    return EligibilityCounts(
        len(moved_eligible), sum(by_reason.values()) - len(moved_review), len(moved_review), by_reason
    )


def pending_enrolment_ids(*, session: Session, policy_year_id: int, after_id: int = 0, limit: int = 5000) -> list[int]:
    """The next chunk of registered enrolment ids of a policy year, in id order after `after_id`."""
    return list(
        session.scalars(
            select(ENROLMENT.c.id)
            .where(
                ENROLMENT.c.policy_year_id == policy_year_id,
                ENROLMENT.c.status == str(EnrolmentStatus.REGISTERED),
                ENROLMENT.c.id > after_id,
            )
            .order_by(ENROLMENT.c.id)
            .limit(limit)
        ).all()
    )
