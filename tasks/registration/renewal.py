"""Renewal (DOMAIN 2.2): a unit's active members of one policy year carried over to a later one of the programme.

Set-based: the members due are one query, their renewals one bulk insert; a member already enrolled in the
later year is not carried over again, so renewing twice creates nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, exists, insert, select
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from models.base import utcnow
from models.enrolments import Enrolment, EnrolmentKind, EnrolmentStatus
from models.errors import ValidationFailed
from models.members import Member
from models.org import OrgUnit
from models.programmes import PolicyYear

ENROLMENT = Enrolment.__table__  # type: ignore[attr-defined]
POLICY_YEAR = PolicyYear.__table__  # type: ignore[attr-defined]


def _insert_enrolments(
    session: Session, policy_year: PolicyYear, pairs: Sequence[tuple[int, int]], kind: EnrolmentKind
) -> None:
    """Bulk-insert registered enrolments for (member id, unit id) pairs."""
    if not pairs:
        return
    contribution = policy_year.policy().contribution_fen
    now = utcnow()
    session.execute(
        insert(ENROLMENT),
        [
            {
                "member_id": member_id,
                "policy_year_id": policy_year.id,
                "org_unit_id": unit_id,
                "kind": str(kind),
                "status": str(EnrolmentStatus.REGISTERED),
                "version": 1,
                "contribution_fen": contribution,
                "registered_at": now,
            }
            for member_id, unit_id in pairs
        ],
    )


def _next_year_id(session: Session, policy_year: PolicyYear) -> int | None:
    """The id of the programme's policy year after this one, if it is open yet."""
    return session.scalar(
        select(POLICY_YEAR.c.id).where(
            POLICY_YEAR.c.programme_id == policy_year.programme_id, POLICY_YEAR.c.year == policy_year.year + 1
        )
    )


def _active_not_in(policy_year_id: int | None, unit_id: int | None, later_year_id: int | None) -> Select[Any]:
    """Member ids active in a year at a unit, less those already enrolled in the later year."""
    e, later = ENROLMENT, ENROLMENT.alias("later")
    stmt = select(e.c.member_id).where(
        e.c.policy_year_id == policy_year_id,
        e.c.org_unit_id == unit_id,
        e.c.status == str(EnrolmentStatus.ACTIVE),
    )
    if later_year_id is not None:
        stmt = stmt.where(~exists().where(later.c.member_id == e.c.member_id, later.c.policy_year_id == later_year_id))
    return stmt


def renew_unit(*, session: Session, from_year: PolicyYear, to_year: PolicyYear, unit: OrgUnit) -> int:
    """Carry the unit's active enrolments of from_year over to to_year as renewals; return how many."""
    if from_year.programme_id != to_year.programme_id or to_year.year <= from_year.year:
        raise ValidationFailed("续保只能转入同一项目之后的保障年度")
    assert unit.id is not None
    member_ids = session.scalars(_active_not_in(from_year.id, unit.id, to_year.id).order_by("member_id")).all()
    _insert_enrolments(session, to_year, [(m, unit.id) for m in member_ids], EnrolmentKind.RENEWAL)
    return len(member_ids)


def due_for_renewal(*, session: Session, policy_year: PolicyYear, unit_id: int) -> list[Member]:
    """Members active in the year for the unit and not yet enrolled in the programme's following year."""
    due = _active_not_in(policy_year.id, unit_id, _next_year_id(session, policy_year))
    return list(session.exec(sm_select(Member).where(col(Member.id).in_(due)).order_by(col(Member.id))).all())
