"""The reviewer's queue: search, look at, take, release and decide approval tasks, and read a task's history.

Only users with a review level get here (403 otherwise); a task outside the reviewer's level or org
subtree is a 404, never data (tasks.common.access, through api.deps.VisibleTask). A decision that loses a race
to another reviewer is a 409. A search answers one page, soonest due first, with the number of matching tasks
in the X-Total-Count header.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Query, Response
from pydantic import TypeAdapter

from api.deps import EntityId, Reviewer, SessionDep, VisibleTask
from api.presenters.common import audit_public
from api.presenters.tasks import task_public, task_row
from api.schemas import DecisionResult
from core.dispatch import request_dispatch
from models.approvals import DecisionIn, TaskKind, TaskPublic, TaskStatus
from models.audit import AuditEventPublic
from models.base import utcnow
from models.notices import ObjectionForReviewer
from tasks.approval.decisions import decide, release_task, take_task
from tasks.approval.notice import objection_for_reviewer
from tasks.approval.queue import OPEN_STATUSES, TaskRow, TaskSearch, search_tasks
from tasks.common.timeline import task_history

router = APIRouter(prefix="/api/tasks", tags=["tasks"])

Assigned = Literal["me", "others", "nobody"]


TASK_LIST = TypeAdapter(list[TaskPublic])


@router.get("", response_model=list[TaskPublic])
def search(
    session: SessionDep,
    user: Reviewer,
    status: Annotated[list[TaskStatus] | None, Query(description="default: open and taken")] = None,
    kind: TaskKind | None = None,
    org_unit_id: Annotated[
        int | None, Query(ge=1, le=2_147_483_647, description="claims of this unit's subtree")
    ] = None,
    benefit_type: Annotated[str | None, Query(max_length=24, pattern=r"^[a-z][a-z0-9_]*$")] = None,
    due_before: datetime | None = None,
    overdue: bool | None = None,
    escalated: bool | None = None,
    assigned: Assigned | None = None,
    mine: Annotated[bool, Query(description="same as assigned=me")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """Tasks of my level in my subtree that match the filters, soonest due first; the total in X-Total-Count."""
    now = utcnow()
    page = search_tasks(
        session=session,
        user=user,
        search=TaskSearch(
            statuses=tuple(status) if status else OPEN_STATUSES, kind=kind, org_unit_id=org_unit_id,
            benefit_type=benefit_type, due_before=due_before, overdue=overdue, escalated=escalated,
            assigned="me" if mine else assigned, limit=limit, offset=offset, as_of=now,
        ),
    )  # fmt: skip
    # Serialised once here: the rows are built from the database, so FastAPI need not validate them again.
    body = TASK_LIST.dump_json([task_public(row, now) for row in page.rows])
    return Response(body, media_type="application/json", headers={"X-Total-Count": str(page.total)})


@router.get("/{task_id}", response_model=TaskPublic)
def get_task(session: SessionDep, task: VisibleTask) -> TaskPublic:
    """One task I may see."""
    return task_public(task_row(session, task))


@router.get("/{task_id}/objection", response_model=ObjectionForReviewer)
def get_objection(session: SessionDep, task: VisibleTask) -> ObjectionForReviewer:
    """The objection an objection task asks me to decide (with the sender's contact, if they gave one)."""
    return objection_for_reviewer(session=session, task=task)


@router.post("/{task_id}/take", response_model=TaskPublic)
def take(session: SessionDep, user: Reviewer, task_id: EntityId) -> TaskPublic:
    """Assign the task to me (409 if someone else holds it)."""
    task = take_task(session=session, user=user, task_id=task_id)
    result = task_public(task_row(session, task))
    session.commit()
    return result


@router.post("/{task_id}/release", response_model=TaskPublic)
def release(session: SessionDep, user: Reviewer, task_id: EntityId) -> TaskPublic:
    """Put a task I hold back in the queue (a supervisor may also take it back from its holder)."""
    task = release_task(session=session, user=user, task_id=task_id)
    result = task_public(task_row(session, task))
    session.commit()
    return result


@router.post("/{task_id}/decision", response_model=DecisionResult)
def decision(
    session: SessionDep, user: Reviewer, task_id: EntityId, body: DecisionIn, background: BackgroundTasks
) -> Response:
    """Decide: approve, reject or return a review; uphold or dismiss an objection (all but approve need a
    reason); 409 if the task changed since `version`. The steps that follow start once it is committed."""
    decided = decide(session=session, user=user, task_id=task_id, decision=body)
    claim = decided.claim
    row = TaskRow(
        decided.task, claim.reference if claim else None, decided.task.benefit_type, claim.payout_fen if claim else None
    )
    result = DecisionResult.model_construct(task=task_public(row), claim_status=claim.status if claim else None)
    session.commit()
    background.add_task(request_dispatch)  # FastAPI attaches the tasks to the Response returned
    # Serialised here, from values the database just confirmed: FastAPI need not validate them again.
    return Response(result.model_dump_json(), media_type="application/json")


@router.get("/{task_id}/history", response_model=list[AuditEventPublic])
def history(session: SessionDep, task: VisibleTask) -> list[AuditEventPublic]:
    """The audit events of a task I may see, oldest first."""
    return [audit_public(event) for event in task_history(session=session, task=task)]
