"""The reviewer's queue: searching the tasks a reviewer may see, and a task's history.

Which tasks a reviewer may see is the access policy's (tasks.common.access.visible_to: their own level, inside
their org subtree; one task through get_visible_task). The subtree is a range over the task's copied org path,
so a search is one range of the queue index (level, status, org_path, due_at) however large the city is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from models.approvals import OPEN_PREDICATE, ApprovalTask, TaskKind, TaskStatus
from models.base import utcnow
from models.claims import Claim
from models.errors import NotFound
from models.org import OrgUnit
from models.users import User
from tasks.common.access import subtree_range, visible_to

OPEN_STATUSES = (TaskStatus.OPEN, TaskStatus.TAKEN)


@dataclass(frozen=True)
class TaskRow:
    """A task (an ApprovalTask, or a row with its columns) with what the queue shows of its claim."""

    task: Any
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


def org_path_of(session: Session, org_unit_id: int | None) -> str | None:
    """The materialised path of an org unit, or None."""
    if org_unit_id is None:
        return None
    return session.exec(select(OrgUnit.path).where(OrgUnit.id == org_unit_id)).first()


def search_tasks(*, session: Session, user: User, search: TaskSearch) -> TaskPage:
    """A page of the tasks this user may see that match the search, soonest due first, and the total.

    The page is found as ids first (read from the queue index alone), then the page's rows are loaded.
    """
    scope = visible_to(session, user)
    if scope is None:
        return TaskPage([], 0)
    conditions = [scope, *_statuses(search.statuses), *_filters(session, user, search)]
    total = session.exec(select(func.count()).select_from(ApprovalTask).where(*conditions)).one()
    ids = session.exec(
        select(ApprovalTask.id)
        .where(*conditions)
        .order_by(col(ApprovalTask.due_at), col(ApprovalTask.id))
        .limit(search.limit)
        .offset(search.offset)
    ).all()
    return TaskPage(page_rows(session, [i for i in ids if i is not None]), int(total))


def page_rows(session: Session, ids: list[int]) -> list[TaskRow]:
    """The tasks of a page with their claims' reference and payout, in the order of `ids`, as plain rows."""
    if not ids:
        return []
    task, claim = ApprovalTask.__table__, Claim.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        sa_select(task, claim.c.reference, claim.c.payout_fen)
        .select_from(task.outerjoin(claim, claim.c.id == task.c.claim_id))
        .where(task.c.id.in_(ids))
    ).all()
    by_id = {row.id: TaskRow(row, row.reference, row.benefit_type, row.payout_fen) for row in rows}
    return [by_id[i] for i in ids if i in by_id]


def _statuses(statuses: tuple[TaskStatus, ...]) -> list[Any]:
    """SQL for the asked statuses; open and taken ones through the queue's partial index (its text verbatim)."""
    wanted = sorted({str(s) for s in statuses})
    if not set(wanted) <= {str(s) for s in OPEN_STATUSES}:
        return [col(ApprovalTask.status).in_(wanted)]
    narrower = [col(ApprovalTask.status).in_(wanted)] if len(wanted) < len(OPEN_STATUSES) else []
    return [text(OPEN_PREDICATE), *narrower]


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
    if (assigned := _assigned(search.assigned, user)) is not None:
        conditions.append(assigned)
    if search.org_unit_id is not None:
        path = org_path_of(session, search.org_unit_id)
        if path is None:
            raise NotFound(f"未找到单位 {search.org_unit_id}")
        conditions.append(subtree_range(col(ApprovalTask.unit_path), path))
    return conditions


def _assigned(assigned: str | None, user: User) -> Any:
    """SQL for whom a task is assigned to: me, others, or nobody (None: any)."""
    assignee = col(ApprovalTask.assignee_id)
    if assigned == "me":
        return assignee == user.id
    if assigned == "others":
        return assignee.is_not(None) & (assignee != user.id)
    if assigned == "nobody":
        return assignee.is_(None)
    return None
