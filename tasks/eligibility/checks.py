"""Automatic eligibility review (DOMAIN 2.3) of registered enrolments, a chunk at a time, decided in SQL.

The rules come from each enrolment's policy year (models.rules.PolicyRules): the region (the subtrees
of `region_org_codes`, or of the programme's owner), the employment statuses and the age range; plus the
programme's bar list (tasks.eligibility.bar_list) and the member's own `barred` flag. One query per policy year in
the chunk works out, for every enrolment, which rules it breaks as a bit mask, so Python only groups ids;
each group is one call of the status gate. What the rules cannot decide (an enrolment made at a unit
that is not a grassroots union) goes to a human review task.

Age is counted in whole years on the reference day, the registration day (Shanghai time) or the
year's start, whichever is later. In SQL it is (ref - birth) // 10000 with both dates as the integers
YYYYMMDD, which is exactly `age_on` for every pair of dates, 29 February included.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, and_, case, cast, insert, literal, not_, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session

from models.approvals import ApprovalTask, TaskKind, TaskStatus
from models.base import as_utc, utcnow
from models.enrolments import Enrolment, EnrolmentStatus
from models.errors import ValidationFailed
from models.members import Member
from models.org import OrgLevel, OrgUnit
from models.programmes import PolicyYear, Programme
from models.rules import PolicyRules
from models.sql import id_in
from models.states import SYSTEM, Actor, change_status_bulk
from tasks.common.workdays import task_deadlines
from tasks.eligibility.bar_list import barred_clause

SHANGHAI = ZoneInfo("Asia/Shanghai")
ENROLMENT = Enrolment.__table__  # type: ignore[attr-defined]
MEMBER = Member.__table__  # type: ignore[attr-defined]
ORG_UNIT = OrgUnit.__table__  # type: ignore[attr-defined]
POLICY_YEAR = PolicyYear.__table__  # type: ignore[attr-defined]
PROGRAMME = Programme.__table__  # type: ignore[attr-defined]
TASK = ApprovalTask.__table__  # type: ignore[attr-defined]
OUTSIDE_REGION = "不属于本项目地区"
WRONG_EMPLOYMENT_STATUS = "在职状态不符合参加条件"
BARRED = "因骗保被取消资格"
NOT_GRASSROOTS = "登记单位不是基层工会，需人工审核"
# The bits of the mask the query computes, in the order their reasons are listed.
REGION, EMPLOYMENT, AGE, BAR, REVIEW = 1, 2, 4, 8, 16


@dataclass(frozen=True)
class EligibilityCounts:
    """How many enrolments of a chunk went each way, and how many per reason (not part of equality)."""

    eligible: int
    ineligible: int
    needs_review: int
    by_reason: dict[str, int] = field(default_factory=dict, compare=False)


def age_on(birth: date, on: date) -> int:
    """Age in whole years on a date."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def reference_day(registered_at: datetime, starts_on: date) -> date:
    """The day the age is taken: the registration day (Shanghai time) or the year's start, whichever is later."""
    return max(as_utc(registered_at).astimezone(SHANGHAI).date(), starts_on)


def age_reason(rules: PolicyRules) -> str:
    """The reason given for an age outside the year's range."""
    return f"年龄不在{rules.age_min}-{rules.age_max}周岁范围内"


@dataclass(frozen=True)
class YearRules:
    """The eligibility rules of one policy year, resolved against the org tree."""

    policy_year_id: int
    programme_id: int
    starts_on: date
    rules: PolicyRules
    region_paths: tuple[str, ...]

    def reason(self, mask: int) -> str:
        """The stored reason for a mask of broken rules (REGION … BAR), in a fixed order."""
        texts = {REGION: OUTSIDE_REGION, EMPLOYMENT: WRONG_EMPLOYMENT_STATUS, AGE: age_reason(self.rules), BAR: BARRED}
        return "；".join(text for bit, text in texts.items() if mask & bit)


def year_rules(*, session: Session, policy_year_ids: set[int]) -> dict[int, YearRules]:
    """The rules of each policy year; ValidationFailed if a region code names no org unit."""
    py, pr, owner = POLICY_YEAR, PROGRAMME, ORG_UNIT.alias("owner")
    rows = session.execute(
        select(py.c.id, py.c.programme_id, py.c.starts_on, py.c.rules, owner.c.path)
        .join(pr, pr.c.id == py.c.programme_id)
        .join(owner, owner.c.id == pr.c.owner_org_id)
        .where(py.c.id.in_(policy_year_ids))
    ).all()
    found: dict[int, YearRules] = {}
    for row in rows:
        rules = PolicyRules.model_validate(row.rules)
        paths: tuple[str, ...] = (row.path,)
        if rules.region_org_codes:
            by_code = dict(
                session.execute(
                    select(ORG_UNIT.c.code, ORG_UNIT.c.path).where(ORG_UNIT.c.code.in_(rules.region_org_codes))
                ).all()
            )
            missing = [code for code in rules.region_org_codes if code not in by_code]
            if missing:
                raise ValidationFailed(f"资格规则中的地区单位不存在：{'、'.join(missing)}")
            paths = tuple(by_code[code] for code in rules.region_org_codes)
        found[row.id] = YearRules(row.id, row.programme_id, row.starts_on, rules, paths)
    return found


class _YMD(FunctionElement[int]):
    """A date as the integer YYYYMMDD."""

    type = Integer()
    inherit_cache = True


class _ShanghaiYMD(FunctionElement[int]):
    """The Shanghai calendar day of a UTC timestamp, as the integer YYYYMMDD."""

    type = Integer()
    inherit_cache = True


class _Greatest(FunctionElement[int]):
    """The larger of two integers."""

    type = Integer()
    inherit_cache = True


def _ymd_postgresql(day: str) -> str:
    parts = f"date_part('year', {day}) * 10000 + date_part('month', {day}) * 100 + date_part('day', {day})"
    return f"CAST({parts} AS INTEGER)"


@compiles(_YMD, "sqlite")
def _ymd_sqlite(element: _YMD, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(replace({compiler.process(element.clauses, **kw)}, '-', '') AS INTEGER)"


@compiles(_YMD, "postgresql")
def _ymd_pg(element: _YMD, compiler: SQLCompiler, **kw: Any) -> str:
    return _ymd_postgresql(compiler.process(element.clauses, **kw))


@compiles(_ShanghaiYMD, "sqlite")
def _shanghai_sqlite(element: _ShanghaiYMD, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps timestamps as naive UTC text and knows no time zones; Shanghai has been UTC+8 all year
    # round since 1991, long before any registration this system holds.
    return f"CAST(replace(date({compiler.process(element.clauses, **kw)}, '+8 hours'), '-', '') AS INTEGER)"


@compiles(_ShanghaiYMD, "postgresql")
def _shanghai_pg(element: _ShanghaiYMD, compiler: SQLCompiler, **kw: Any) -> str:
    return _ymd_postgresql(f"CAST(timezone('Asia/Shanghai', {compiler.process(element.clauses, **kw)}) AS DATE)")


@compiles(_Greatest, "sqlite")
def _greatest_sqlite(element: _Greatest, compiler: SQLCompiler, **kw: Any) -> str:
    return f"max({compiler.process(element.clauses, **kw)})"


@compiles(_Greatest, "postgresql")
def _greatest_pg(element: _Greatest, compiler: SQLCompiler, **kw: Any) -> str:
    return f"GREATEST({compiler.process(element.clauses, **kw)})"


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
    starts = int(year.starts_on.strftime("%Y%m%d"))
    age_span = _Greatest(_ShanghaiYMD(e.c.registered_at), literal(starts, Integer)) - _YMD(m.c.birth_date)
    member_bits = (
        select(
            _bits(
                [
                    (EMPLOYMENT, m.c.employment_status.not_in(rules.employment_statuses)),
                    (AGE, or_(age_span < rules.age_min * 10000, age_span >= (rules.age_max + 1) * 10000)),
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


def open_review_tasks(*, session: Session, enrolment_ids: list[int]) -> None:
    """One open eligibility review task per enrolment, at the unit it was made at, for the reviewers of that
    unit's level (a county union's enrolments are reviewed by its county reviewers), due in that level's
    working days of the enrolment's year."""
    columns = (
        "kind", "enrolment_id", "level", "round", "org_unit_id", "org_path", "unit_path", "status", "version",
        "created_at", "due_at", "escalate_at",
    )  # fmt: skip
    level_of_unit = case(
        (ORG_UNIT.c.level == str(OrgLevel.CITY), 3), (ORG_UNIT.c.level == str(OrgLevel.COUNTY), 2), else_=1
    )
    now = utcnow()
    years = set(
        session.scalars(select(ENROLMENT.c.policy_year_id).where(id_in(session, ENROLMENT.c.id, enrolment_ids)))
    )
    deadlines = {
        (year_id, level): task_deadlines(year.rules, level, now)
        for year_id, year in year_rules(session=session, policy_year_ids=years).items()
        for level in (1, 2, 3)
    }
    when = [(and_(ENROLMENT.c.policy_year_id == y, level_of_unit == lv), d) for (y, lv), d in deadlines.items()]
    due = case(*[(c, literal(d[0], TASK.c.due_at.type)) for c, d in when], else_=None)
    escalate = case(*[(c, literal(d[1], TASK.c.escalate_at.type)) for c, d in when], else_=None)
    session.execute(
        insert(TASK).from_select(
            columns,
            select(
                cast(literal(str(TaskKind.ELIGIBILITY_REVIEW)), TASK.c.kind.type),
                ENROLMENT.c.id,
                level_of_unit,
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
