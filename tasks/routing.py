"""Routing (DOMAIN 2.7): which org unit decides a claim at each level, and opening the task there.

Level 1 belongs to the claim's grassroots union, level 2 to its county union, level 3 to the city union.
A task carries the path of its org unit (so a reviewer's subtree is one index range), the claim's benefit
type (a queue filter), and its due and escalation moments from the year's working-day calendar.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from models.approvals import ApprovalTask, TaskKind, TaskStatus
from models.base import utcnow
from models.claims import Claim, ClaimStatus
from models.errors import ValidationFailed
from models.org import OrgLevel, OrgUnit
from models.programmes import PolicyYear
from models.rules import PolicyRules
from models.states import Actor, change_status
from tasks.deadlines import task_deadlines

LEVEL_ORG = {1: OrgLevel.GRASSROOTS, 2: OrgLevel.COUNTY, 3: OrgLevel.CITY}
ORG_LEVEL = {org_level: level for level, org_level in LEVEL_ORG.items()}

OrgCache = dict[tuple[int, int], tuple[int, str]]


def level_org(*, session: Session, unit: OrgUnit, level: int, cache: OrgCache | None = None) -> tuple[int, str]:
    """The (id, path) of the org unit deciding `level` for a claim of `unit`: its grassroots, county or city union."""
    key = (unit.id or 0, level)
    if cache is not None and key in cache:
        return cache[key]
    ids = [int(p) for p in unit.path.strip("/").split("/") if p]
    found = session.exec(
        select(OrgUnit.id, OrgUnit.path).where(col(OrgUnit.id).in_(ids), OrgUnit.level == LEVEL_ORG[level])
    ).first()
    if found is None or found[0] is None:
        raise ValidationFailed(f"{unit.name} 缺少第{level}级审批单位")
    value = (found[0], found[1])
    if cache is not None:
        cache[key] = value
    return value


def task_row(
    *,
    claim_id: int,
    benefit_type: str,
    level: int,
    review_round: int,
    org: tuple[int, str],
    rules: PolicyRules,
    now: datetime,
    kind: TaskKind = TaskKind.CLAIM_REVIEW,
    objection_id: int | None = None,
) -> dict[str, Any]:
    """The column values of a new open task (for one ORM object or a bulk insert)."""  # fmt: skip
    due, escalate = task_deadlines(rules, level, now)
    return {
        "kind": kind.value,
        "claim_id": claim_id,
        "enrolment_id": None,
        "level": level,
        "round": review_round,
        "org_unit_id": org[0],
        "org_path": org[1],
        "benefit_type": benefit_type,
        "objection_id": objection_id,
        "status": TaskStatus.OPEN.value,
        "version": 1,
        "due_at": due,
        "escalate_at": escalate,
        "created_at": now,
    }


def open_task(
    *,
    session: Session,
    claim: Claim,
    level: int,
    kind: TaskKind = TaskKind.CLAIM_REVIEW,
    objection_id: int | None = None,
    now: datetime | None = None,
    cache: OrgCache | None = None,
) -> ApprovalTask:
    """Open a task of `level` on the claim's current round (a review, or an objection to decide)."""
    unit = session.get(OrgUnit, claim.org_unit_id)
    policy_year = session.get(PolicyYear, claim.policy_year_id)
    assert unit is not None and policy_year is not None and claim.id is not None
    values = task_row(
        claim_id=claim.id, benefit_type=str(claim.benefit_type), level=level, review_round=claim.review_round,
        org=level_org(session=session, unit=unit, level=level, cache=cache), rules=policy_year.policy(),
        now=now or utcnow(), kind=kind, objection_id=objection_id,
    )  # fmt: skip
    task = ApprovalTask(**values)
    session.add(task)
    if kind == TaskKind.CLAIM_REVIEW:
        claim.current_level = level
    session.flush()
    return task


def start_review(*, session: Session, claim: Claim, actor: Actor, cache: OrgCache | None = None) -> None:
    """Route a submitted claim: open its first-level task and mark it in review."""
    open_task(session=session, claim=claim, level=1, cache=cache)
    change_status(session, claim, ClaimStatus.IN_REVIEW, actor=actor, data={"required_levels": claim.required_levels})
