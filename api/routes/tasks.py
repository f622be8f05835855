"""The reviewer's queue: list, look at, take, release and decide approval tasks, and read a task's history.

Only users with a review level get here (403 otherwise); a task outside the reviewer's level or org
subtree is a 404, never data. A decision that loses a race to another reviewer is a 409.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import EntityId, Reviewer, SessionDep
from api.schemas import DecisionResult
from api.views import audit_public, task_public, task_row
from models.approvals import ApprovalTask, DecisionIn, TaskPublic, TaskStatus
from models.audit import AuditEventPublic
from models.claims import Claim
from tasks.approval import decide, get_visible_task, list_tasks, release_task, take_task, task_history

router = APIRouter(prefix="/api/tasks", tags=["tasks"])


@router.get("", response_model=list[TaskPublic])
def queue(
    session: SessionDep,
    user: Reviewer,
    status: TaskStatus | None = None,
    mine: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[TaskPublic]:
    """Open and taken tasks of my level in my subtree (or one status, or only mine), soonest due first."""
    rows = list_tasks(session=session, user=user, status=status, mine=mine, limit=limit, offset=offset)
    return [task_public(row) for row in rows]


@router.get("/{task_id}", response_model=TaskPublic)
def get_task(session: SessionDep, user: Reviewer, task_id: EntityId) -> TaskPublic:
    """One task I may see."""
    task = get_visible_task(session=session, user=user, task_id=task_id)
    return task_public(task_row(session, task))


@router.post("/{task_id}/take", response_model=TaskPublic)
def take(session: SessionDep, user: Reviewer, task_id: EntityId) -> TaskPublic:
    """Assign the task to me (409 if someone else holds it)."""
    task = take_task(session=session, user=user, task_id=task_id)
    result = task_public(task_row(session, task))
    session.commit()
    return result


@router.post("/{task_id}/release", response_model=TaskPublic)
def release(session: SessionDep, user: Reviewer, task_id: EntityId) -> TaskPublic:
    """Put a task I hold back in the queue."""
    task = release_task(session=session, user=user, task_id=task_id)
    result = task_public(task_row(session, task))
    session.commit()
    return result


@router.post("/{task_id}/decision", response_model=DecisionResult)
def decision(session: SessionDep, user: Reviewer, task_id: EntityId, body: DecisionIn) -> DecisionResult:
    """Approve, reject or return (the last two need a reason); 409 if the task changed since `version`."""
    record = decide(session=session, user=user, task_id=task_id, decision=body)
    task = session.get(ApprovalTask, record.task_id)
    assert task is not None
    claim = session.get(Claim, record.claim_id) if record.claim_id is not None else None
    result = DecisionResult(task=task_public(task_row(session, task)), claim_status=claim.status if claim else None)
    session.commit()
    return result


@router.get("/{task_id}/history", response_model=list[AuditEventPublic])
def history(session: SessionDep, user: Reviewer, task_id: EntityId) -> list[AuditEventPublic]:
    """The audit events of a task I may see, oldest first."""
    task = get_visible_task(session=session, user=user, task_id=task_id)
    return [audit_public(event) for event in task_history(session=session, task=task)]
