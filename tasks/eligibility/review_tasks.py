"""Human review of what the eligibility rules cannot decide (DOMAIN 2.3): one approval task per enrolment.

An enrolment made at a unit that is not a grassroots union is reviewed at that unit's level (a county
union's enrolments by its county reviewers), due in that level's working days of the enrolment's year.
The tasks of a chunk are one INSERT ... SELECT; the deadlines are worked out once per (year, level).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, cast, insert, literal, select
from sqlmodel import Session

from models.approvals import ApprovalTask, TaskKind, TaskStatus
from models.base import utcnow
from models.enrolments import Enrolment
from models.org import OrgLevel, OrgUnit
from models.sql import id_in
from tasks.common.workdays import task_deadlines
from tasks.eligibility.year_rules import year_rules

ENROLMENT = Enrolment.__table__  # type: ignore[attr-defined]
ORG_UNIT = OrgUnit.__table__  # type: ignore[attr-defined]
TASK = ApprovalTask.__table__  # type: ignore[attr-defined]
TASK_COLUMNS = (
    "kind", "enrolment_id", "level", "round", "org_unit_id", "org_path", "unit_path", "status", "version",
    "created_at", "due_at", "escalate_at",
)  # fmt: skip


def _review_level() -> ColumnElement[int]:
    """SQL: the approval level that reviews an enrolment of the unit: city 3, county 2, else 1."""
    return case((ORG_UNIT.c.level == str(OrgLevel.CITY), 3), (ORG_UNIT.c.level == str(OrgLevel.COUNTY), 2), else_=1)


def _deadlines(
    session: Session, enrolment_ids: list[int], level: ColumnElement[int], now: datetime
) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """SQL: each task's due and escalation times, by its enrolment's year and review level."""
    years = set(
        session.scalars(select(ENROLMENT.c.policy_year_id).where(id_in(session, ENROLMENT.c.id, enrolment_ids)))
    )
    deadlines = {
        (year_id, lv): task_deadlines(year.rules, lv, now)
        for year_id, year in year_rules(session=session, policy_year_ids=years).items()
        for lv in (1, 2, 3)
    }
    when = [(and_(ENROLMENT.c.policy_year_id == y, level == lv), d) for (y, lv), d in deadlines.items()]
    due = case(*[(c, literal(d[0], TASK.c.due_at.type)) for c, d in when], else_=None)
    escalate = case(*[(c, literal(d[1], TASK.c.escalate_at.type)) for c, d in when], else_=None)
    return due, escalate


def open_review_tasks(*, session: Session, enrolment_ids: list[int]) -> None:
    """One open eligibility review task per enrolment, at the unit it was made at, for the reviewers of that
    unit's level (a county union's enrolments are reviewed by its county reviewers), due in that level's
    working days of the enrolment's year."""
    level = _review_level()
    now = utcnow()
    due, escalate = _deadlines(session, enrolment_ids, level, now)
    session.execute(
        insert(TASK).from_select(
            TASK_COLUMNS,
            select(
                cast(literal(str(TaskKind.ELIGIBILITY_REVIEW)), TASK.c.kind.type),
                ENROLMENT.c.id,
                level,
                literal(1, Integer),
                ENROLMENT.c.org_unit_id,
                ORG_UNIT.c.path,
                ORG_UNIT.c.path,
                cast(literal(str(TaskStatus.OPEN)), TASK.c.status.type),
                literal(1, Integer),
                literal(now, TASK.c.created_at.type),
                due,
                escalate,
            )
            .join_from(ENROLMENT, ORG_UNIT, ORG_UNIT.c.id == ENROLMENT.c.org_unit_id)
            .where(id_in(session, ENROLMENT.c.id, enrolment_ids))
            .order_by(ENROLMENT.c.id),
        )
    )
