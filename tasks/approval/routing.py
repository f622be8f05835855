"""Routing (DOMAIN 2.7): which org unit decides a claim at each level, and opening the task there; a chunk of
calculated claims is routed to its first level in one bulk change and one insert of its tasks.

Level 1 belongs to the claim's grassroots union, level 2 to its county union, level 3 to the city union.
A task carries the path of its org unit (so a reviewer's subtree is one index range), the claim's benefit
type (a queue filter), and its due and escalation moments from the year's working-day calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from models.approvals import ApprovalTask, TaskKind, TaskStatus
from models.base import utcnow
from models.claims import Claim, ClaimStatus
from models.errors import ValidationFailed
from models.org import LEVEL_ORG, OrgUnit
from models.programmes import PolicyYear
from models.rules import PolicyRules
from models.sql import id_in
from models.states import SYSTEM, Actor, change_status, change_status_bulk
from tasks.common.bulk import insert_rows
from tasks.common.workdays import task_deadlines

OrgCache = dict[tuple[int, int], tuple[int, str]]
TASK = ApprovalTask.__table__  # type: ignore[attr-defined]
ORG = OrgUnit.__table__  # type: ignore[attr-defined]
CLAIM = Claim.__table__  # type: ignore[attr-defined]
TASK_INSERT = insert(TASK).returning(TASK.c.id)
# Statements on the path of every decision, built once with their values bound at execution.
ANCESTOR_AT_LEVEL = sa_select(ORG.c.id, ORG.c.path).where(
    ORG.c.id.in_(bindparam("ids", expanding=True)), ORG.c.level == bindparam("level")
)
YEAR_RULES = sa_select(PolicyYear.__table__.c.rules).where(PolicyYear.__table__.c.id == bindparam("year_id"))  # type: ignore[attr-defined]
# current_level is a display column, not a status: it moves without a version step or an audit event
CLAIM_LEVEL = update(CLAIM).where(CLAIM.c.id == bindparam("claim_id")).values(current_level=bindparam("level"))


def level_org(*, session: Session, unit: OrgUnit, level: int, cache: OrgCache | None = None) -> tuple[int, str]:
    """The (id, path) of the org unit deciding `level` for a claim of `unit`: its grassroots, county or city union."""
    key = (unit.id or 0, level)
    if cache is not None and key in cache:
        return cache[key]
    value = level_org_of_path(session=session, unit_path=unit.path, level=level)
    if cache is not None:
        cache[key] = value
    return value


def level_org_of_path(*, session: Session, unit_path: str, level: int) -> tuple[int, str]:
    """The (id, path) of the org unit deciding `level` for a claim of the unit at `unit_path` (its ancestors)."""
    ids = [int(p) for p in unit_path.strip("/").split("/") if p]
    found = session.execute(ANCESTOR_AT_LEVEL, {"ids": ids, "level": str(LEVEL_ORG[level])}).first()
    if found is None:
        raise ValidationFailed(f"单位 {unit_path} 缺少第{level}级审批单位")
    return (found[0], found[1])


def new_task_values(
    *,
    claim_id: int,
    benefit_type: str,
    level: int,
    review_round: int,
    org: tuple[int, str],
    unit_path: str,
    rules: PolicyRules,
    now: datetime,
    kind: TaskKind = TaskKind.CLAIM_REVIEW,
    objection_id: int | None = None,
    deadlines: tuple[datetime, datetime] | None = None,
) -> dict[str, Any]:
    """The column values of a new open task (for one ORM object or a bulk insert): `org` is the deciding org
    unit (id, path), `unit_path` the path of the claim's own unit; `deadlines` are task_deadlines(rules,
    level, now) when the caller opens many tasks at once and has worked them out."""
    due, escalate = deadlines or task_deadlines(rules, level, now)
    return {
        "kind": kind.value,
        "claim_id": claim_id,
        "enrolment_id": None,
        "level": level,
        "round": review_round,
        "org_unit_id": org[0],
        "org_path": org[1],
        "unit_path": unit_path,
        "benefit_type": benefit_type,
        "objection_id": objection_id,
        "status": TaskStatus.OPEN.value,
        "version": 1,
        "due_at": due,
        "escalate_at": escalate,
        "created_at": now,
    }


@dataclass(frozen=True)
class OpenedTask:
    """What opening a task tells its caller."""

    id: int
    level: int
    org_unit_id: int
    due_at: datetime
    escalate_at: datetime


def open_task(
    *,
    session: Session,
    claim: Claim,
    level: int,
    kind: TaskKind = TaskKind.CLAIM_REVIEW,
    objection_id: int | None = None,
    now: datetime | None = None,
    unit_path: str | None = None,
) -> OpenedTask:
    """Open a task of `level` on the claim's current round (a review, or an objection to decide).

    `unit_path` is the path of the claim's unit when the caller has it (a task carries it): one query less.
    Written with one INSERT, not as an ORM object: this is on the path of every decision.
    """
    assert claim.id is not None
    rules = PolicyRules.model_validate(session.execute(YEAR_RULES, {"year_id": claim.policy_year_id}).scalar_one())
    if unit_path is None:
        unit_path = session.execute(sa_select(ORG.c.path).where(ORG.c.id == claim.org_unit_id)).scalar_one()
    values = new_task_values(
        claim_id=claim.id, benefit_type=str(claim.benefit_type), level=level, review_round=claim.review_round,
        org=level_org_of_path(session=session, unit_path=unit_path, level=level), unit_path=unit_path,
        rules=rules, now=now or utcnow(), kind=kind, objection_id=objection_id,
    )  # fmt: skip
    task_id = session.execute(TASK_INSERT, values).scalar_one()
    if kind == TaskKind.CLAIM_REVIEW and claim.current_level != level:
        session.execute(CLAIM_LEVEL, {"claim_id": claim.id, "level": level})
        set_committed_value(claim, "current_level", level)
    return OpenedTask(task_id, level, values["org_unit_id"], values["due_at"], values["escalate_at"])


def start_review(*, session: Session, claim: Claim, actor: Actor) -> None:
    """Route a submitted claim: open its first-level task and mark it in review."""
    open_task(session=session, claim=claim, level=1)
    change_status(session, claim, ClaimStatus.IN_REVIEW, actor=actor, data={"required_levels": claim.required_levels})


def route_claims(*, session: Session, claim_ids: list[int], actor: Actor = SYSTEM) -> int:
    """Open the first-level review task of each calculated claim and move the chunk to review."""
    session.flush()
    claims = session.execute(
        sa_select(
            CLAIM.c.id, CLAIM.c.policy_year_id, CLAIM.c.org_unit_id, CLAIM.c.review_round, CLAIM.c.benefit_type
        ).where(
            id_in(session, CLAIM.c.id, claim_ids),
            CLAIM.c.status == ClaimStatus.SUBMITTED,
            CLAIM.c.required_levels.is_not(None),
        )
    ).all()
    if not claims:
        return 0
    now = utcnow()
    rules = {
        py.id: py.policy()
        for py in session.exec(select(PolicyYear).where(col(PolicyYear.id).in_({c.policy_year_id for c in claims})))
    }
    deadlines = {year_id: task_deadlines(year_rules, 1, now) for year_id, year_rules in rules.items()}
    cache: OrgCache = {}
    units = {u.id: u for u in session.exec(select(OrgUnit).where(col(OrgUnit.id).in_({c.org_unit_id for c in claims})))}
    owner = {unit_id: level_org(session=session, unit=unit, level=1, cache=cache) for unit_id, unit in units.items()}
    moved = set(
        change_status_bulk(
            session, Claim, [c.id for c in claims], ClaimStatus.IN_REVIEW, actor=actor, values={"current_level": 1}
        )
    )
    tasks = [
        new_task_values(
            claim_id=c.id, benefit_type=c.benefit_type, level=1, review_round=c.review_round, org=owner[c.org_unit_id],
            unit_path=units[c.org_unit_id].path, rules=rules[c.policy_year_id], now=now,
            deadlines=deadlines[c.policy_year_id],
        )
        for c in claims
        if c.id in moved
    ]  # fmt: skip
    insert_rows(session, TASK, tasks)
    return len(moved)
