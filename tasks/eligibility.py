"""Automatic eligibility review (DOMAIN 2.3) of registered enrolments, a chunk at a time.

One query loads everything the rules need for the chunk; each outcome is one call of the status gate;
what the rules cannot decide (an enrolment made at a unit that is not a grassroots union) goes to a
human review task. The rules (age limits, employment statuses) come from each enrolment's policy year.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, insert, select, update
from sqlmodel import Session

from models.approvals import ApprovalTask, TaskKind, TaskStatus
from models.base import as_utc, utcnow
from models.enrolments import Enrolment, EnrolmentStatus
from models.members import Member
from models.org import OrgLevel, OrgUnit
from models.programmes import PolicyYear, Programme
from models.rules import PolicyRules
from models.states import SYSTEM, Actor, change_status_bulk

SHANGHAI = ZoneInfo("Asia/Shanghai")
ENROLMENT = Enrolment.__table__  # type: ignore[attr-defined]
MEMBER = Member.__table__  # type: ignore[attr-defined]
ORG_UNIT = OrgUnit.__table__  # type: ignore[attr-defined]
POLICY_YEAR = PolicyYear.__table__  # type: ignore[attr-defined]
PROGRAMME = Programme.__table__  # type: ignore[attr-defined]
OUTSIDE_REGION = "不属于本项目地区"
BARRED = "因骗保被取消资格"
NOT_GRASSROOTS = "登记单位不是基层工会，需人工审核"


@dataclass(frozen=True)
class EligibilityCounts:
    """How many enrolments of a chunk went each way."""

    eligible: int
    ineligible: int
    needs_review: int


def age_on(birth: date, on: date) -> int:
    """Age in whole years on a date."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _reference_day(registered_at: datetime, starts_on: date) -> date:
    """The day the age is taken: the registration day (Shanghai time) or the year's start, whichever is later."""
    return max(as_utc(registered_at).astimezone(SHANGHAI).date(), starts_on)


def _reasons(row: Row[Any], rules: PolicyRules) -> list[str]:
    """Every rule the enrolment breaks (empty: none)."""
    found: list[str] = []
    if not row.unit_path.startswith(row.owner_path):
        found.append(OUTSIDE_REGION)
    if str(row.employment_status) not in rules.employment_statuses:
        found.append("在职状态不符合参加条件")
    age = age_on(row.birth_date, _reference_day(row.registered_at, row.starts_on))
    if not rules.age_min <= age <= rules.age_max:
        found.append(f"年龄不在{rules.age_min}-{rules.age_max}周岁范围内")
    if row.barred:
        found.append(BARRED)
    return found


def _write_reasons(session: Session, moved: list[int], reasons: Mapping[int, str]) -> None:
    """Store each moved enrolment's reason: one UPDATE per distinct reason (reasons are few)."""
    by_reason: dict[str, list[int]] = defaultdict(list)
    for enrolment_id in moved:
        by_reason[reasons[enrolment_id]].append(enrolment_id)
    for reason, ids in by_reason.items():
        session.execute(update(ENROLMENT).where(ENROLMENT.c.id.in_(ids)).values(reason=reason))


def check_enrolments(*, session: Session, enrolment_ids: list[int], actor: Actor = SYSTEM) -> EligibilityCounts:
    """Decide the registered enrolments of a chunk: eligible, ineligible (with reason) or needs review."""
    e, m, py, pr = ENROLMENT, MEMBER, POLICY_YEAR, PROGRAMME
    unit, owner = ORG_UNIT.alias("unit"), ORG_UNIT.alias("owner")
    rows = session.execute(
        select(
            e.c.id,
            e.c.org_unit_id,
            e.c.registered_at,
            e.c.policy_year_id,
            m.c.birth_date,
            m.c.employment_status,
            m.c.barred,
            unit.c.path.label("unit_path"),
            unit.c.level.label("unit_level"),
            owner.c.path.label("owner_path"),
            py.c.starts_on,
            py.c.rules,
        )
        .select_from(e)
        .join(m, m.c.id == e.c.member_id)
        .join(unit, unit.c.id == e.c.org_unit_id)
        .join(py, py.c.id == e.c.policy_year_id)
        .join(pr, pr.c.id == py.c.programme_id)
        .join(owner, owner.c.id == pr.c.owner_org_id)
        .where(e.c.id.in_(enrolment_ids), e.c.status == str(EnrolmentStatus.REGISTERED))
    ).all()
    rules: dict[int, PolicyRules] = {}
    eligible: list[int] = []
    ineligible: dict[int, str] = {}
    review: dict[int, int] = {}  # enrolment id → its unit id
    for row in rows:
        if row.policy_year_id not in rules:
            rules[row.policy_year_id] = PolicyRules.model_validate(row.rules)
        broken = _reasons(row, rules[row.policy_year_id])
        if broken:
            ineligible[row.id] = "；".join(broken)
        elif row.unit_level != OrgLevel.GRASSROOTS:
            review[row.id] = row.org_unit_id
        else:
            eligible.append(row.id)
    moved_eligible = change_status_bulk(session, Enrolment, eligible, EnrolmentStatus.ELIGIBLE, actor=actor)
    moved_ineligible = change_status_bulk(
        session, Enrolment, list(ineligible), EnrolmentStatus.INELIGIBLE, actor=actor, reasons=ineligible
    )
    _write_reasons(session, moved_ineligible, ineligible)
    moved_review = change_status_bulk(
        session,
        Enrolment,
        list(review),
        EnrolmentStatus.NEEDS_REVIEW,
        actor=actor,
        reason=NOT_GRASSROOTS,
        values={"reason": NOT_GRASSROOTS},
    )
    if moved_review:
        now = utcnow()
        session.execute(
            insert(ApprovalTask.__table__),  # type: ignore[attr-defined]
            [
                {
                    "kind": str(TaskKind.ELIGIBILITY_REVIEW),
                    "enrolment_id": enrolment_id,
                    "level": 1,
                    "round": 1,
                    "org_unit_id": review[enrolment_id],
                    "status": str(TaskStatus.OPEN),
                    "version": 1,
                    "created_at": now,
                }
                for enrolment_id in moved_review
            ],
        )
    return EligibilityCounts(len(moved_eligible), len(moved_ineligible), len(moved_review))


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
