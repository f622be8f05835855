"""The reviewer's queue: which tasks a reviewer may see, searching them, one task, and its history.

A reviewer sees the tasks of their own level whose owning org unit lies in their org subtree, nothing else
(another unit's task is NotFound, never data). The subtree is a range over the task's copied org path, so a
search is one range of the queue index (level, status, org_path, due_at) however large the city is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from models.approvals import ApprovalTask, TaskKind, TaskStatus
from models.audit import AuditEvent
from models.base import utcnow
from models.claims import Claim
from models.errors import NotFound
from models.org import OrgUnit
from models.users import User

OPEN_STATUSES = (TaskStatus.OPEN, TaskStatus.TAKEN)


@dataclass(frozen=True)
class TaskRow:
    """A task with what the queue shows of its claim."""

    task: ApprovalTask
    claim_reference: str | None
    benefit_type: str | None
    payout_fen: int | None


@dataclass(frozen=True)
class TaskSearch:
    """What a reviewer asks of their queue. Empty fields do not filter."""

    statuses: tuple[TaskStatus, ...] = OPEN_STATUSES
    kind: TaskKind | None = None
    org_unit_id: int | None = None  # claims (or enrolments) of this unit's subtree
    benefit_type: str | None = None
    due_before: datetime | None = None
    overdue: bool | None = None
    escalated: bool | None = None
    assigned: str | None = None  # "me", "others", "nobody"
    limit: int = 50
    offset: int = 0
    as_of: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class TaskPage:
    """One page of a search, and how many tasks match in all."""

    rows: list[TaskRow]
    total: int


def subtree_range(column: Any, path: str) -> ColumnElement[bool]:
    """SQL: `column` starts with `path`, written as a range so that an index on column serves it.

    Paths look like '/1/4/27/'. Every path that starts with '/1/4/' sorts at or after it, and before '/1/4'
    followed by the character after '/' (which is '0'): the range is [path, path[:-1] + '0').
    """
    upper = path[:-1] + chr(ord(path[-1]) + 1)
    return and_(column >= path, column < upper)


def org_path_of(session: Session, org_unit_id: int | None) -> str | None:
    """The materialised path of an org unit, or None."""
    if org_unit_id is None:
        return None
    return session.exec(select(OrgUnit.path).where(OrgUnit.id == org_unit_id)).first()


def visible_to(session: Session, user: User) -> ColumnElement[bool] | None:
    """SQL: the tasks this user may see (their level, inside their subtree); None when they see none."""
    path = org_path_of(session, user.org_unit_id)
    if user.review_level is None or path is None:
        return None
    return and_(col(ApprovalTask.level) == user.review_level, subtree_range(col(ApprovalTask.org_path), path))


def search_tasks(*, session: Session, user: User, search: TaskSearch) -> TaskPage:
    """A page of the tasks this user may see that match the search, soonest due first, and the total."""
    scope = visible_to(session, user)
    if scope is None:
        return TaskPage([], 0)
    conditions = [scope, col(ApprovalTask.status).in_([str(s) for s in search.statuses])]
    conditions += _filters(session, user, search)
    total = session.exec(select(func.count()).select_from(ApprovalTask).where(*conditions)).one()
    page = session.exec(
        select(ApprovalTask)
        .where(*conditions)
        .order_by(col(ApprovalTask.due_at).is_(None), col(ApprovalTask.due_at), col(ApprovalTask.id))
        .limit(search.limit)
        .offset(search.offset)
    ).all()
    return TaskPage(with_claims(session, list(page)), int(total))


def _filters(session: Session, user: User, search: TaskSearch) -> list[Any]:
    conditions: list[Any] = []
    if search.kind is not None:
        conditions.append(col(ApprovalTask.kind) == str(search.kind))
    if search.benefit_type is not None:
        conditions.append(col(ApprovalTask.benefit_type) == search.benefit_type)
    if search.due_before is not None:
        conditions.append(col(ApprovalTask.due_at) < search.due_before)
    if search.overdue is not None:
        late = col(ApprovalTask.due_at) < search.as_of
        conditions.append(late if search.overdue else ~late | col(ApprovalTask.due_at).is_(None))
    if search.escalated is not None:
        escalated = col(ApprovalTask.escalated_at).is_not(None)
        conditions.append(escalated if search.escalated else ~escalated)
    if search.assigned == "me":
        conditions.append(col(ApprovalTask.assignee_id) == user.id)
    elif search.assigned == "others":
        conditions.append(col(ApprovalTask.assignee_id).is_not(None) & (col(ApprovalTask.assignee_id) != user.id))
    elif search.assigned == "nobody":
        conditions.append(col(ApprovalTask.assignee_id).is_(None))
    if search.org_unit_id is not None:
        path = org_path_of(session, search.org_unit_id)
        if path is None:
            raise NotFound(f"未找到单位 {search.org_unit_id}")
        unit = aliased(OrgUnit)
        claim_in_subtree = (
            select(Claim.id)
            .join(unit, unit.id == Claim.org_unit_id)  # type: ignore[arg-type]
            .where(col(Claim.id) == col(ApprovalTask.claim_id), subtree_range(col(unit.path), path))
            .correlate(ApprovalTask)
            .exists()
        )
        # an eligibility task sits at the enrolment's own unit
        enrolment_in_subtree = and_(
            col(ApprovalTask.claim_id).is_(None), subtree_range(col(ApprovalTask.org_path), path)
        )
        conditions.append(or_(claim_in_subtree, enrolment_in_subtree))
    return conditions


def with_claims(session: Session, tasks: list[ApprovalTask]) -> list[TaskRow]:
    """Tasks with their claims' reference, benefit type and payout (one query for the page)."""
    claim_ids = {t.claim_id for t in tasks if t.claim_id is not None}
    claims = {}
    if claim_ids:
        claims = {
            row[0]: row[1:]
            for row in session.exec(
                select(Claim.id, Claim.reference, Claim.benefit_type, Claim.payout_fen).where(
                    col(Claim.id).in_(claim_ids)
                )
            ).all()
        }
    rows = []
    for task in tasks:
        reference, benefit, payout = claims.get(task.claim_id or 0, (None, None, None))
        rows.append(TaskRow(task, reference, str(benefit) if benefit is not None else None, payout))
    return rows


def get_visible_task(*, session: Session, user: User, task_id: int, lock: bool = False) -> ApprovalTask:
    """The task if this user may see it; NotFound otherwise (never reveal another unit's task)."""
    scope = visible_to(session, user)
    task = None
    if scope is not None:
        stmt = select(ApprovalTask).where(ApprovalTask.id == task_id, scope)
        if lock:
            stmt = stmt.with_for_update()
        task = session.exec(stmt).first()
    if task is None:
        raise NotFound(f"未找到任务 {task_id}")
    return task


def task_history(*, session: Session, task: ApprovalTask) -> list[AuditEvent]:
    """The audit events of a task, oldest first."""
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "approval_task", AuditEvent.entity_id == task.id)
            .order_by(col(AuditEvent.id))
        ).all()
    )
