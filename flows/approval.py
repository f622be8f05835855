"""Step 6, multi-level approval (多级审批): route calculated claims to their first level, and the deadline
sweep that reminds reviewers of overdue tasks and escalates them to their level's supervisor.

The decisions themselves are made by people through the API; each decision opens the next level in its
own transaction, so nothing here waits for a person. The sweep is served on a schedule (`mutualaid schedule`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow
from sqlalchemy import func
from sqlmodel import select

from core.db import session_scope
from flows.common import chunk_size, chunk_task, id_chunks, report
from models.approvals import ApprovalTask, TaskStatus
from models.base import utcnow
from models.states import Actor
from tasks.approval.deadlines import escalate_overdue, remind_overdue
from tasks.approval.routing import route_claims
from tasks.claims.adjudication import submitted_claim_ids

FLOW_ACTOR = Actor(None, "flow:approval")
SWEEP_ACTOR = Actor(None, "flow:deadline-sweep")


@chunk_task
def route_chunk(claim_ids: list[int]) -> int:
    """Open the first-level task of each claim in the chunk."""
    with session_scope() as session:
        return route_claims(session=session, claim_ids=claim_ids, actor=FLOW_ACTOR)


@flow(name="approval")
def approval_flow() -> dict[str, Any]:
    """Route every calculated claim to review and report the open queue by level."""
    size = chunk_size()

    def next_ids(after: int) -> list[int]:
        with session_scope() as session:
            return submitted_claim_ids(session=session, calculated=True, after_id=after, limit=size)

    routed = sum(route_chunk(ids) for ids in id_chunks(next_ids))
    with session_scope() as session:
        open_by_level = dict(
            session.exec(
                select(ApprovalTask.level, func.count())
                .where(ApprovalTask.status.in_([TaskStatus.OPEN, TaskStatus.TAKEN]))  # type: ignore[attr-defined]
                .group_by(ApprovalTask.level)  # type: ignore[arg-type]
            ).all()
        )
    return report(
        "approval", "多级审批", {"routed": routed, **{f"open_level_{k}": v for k, v in sorted(open_by_level.items())}}
    )


@chunk_task
def remind_chunk(as_of: datetime) -> int:
    """Remind one chunk of tasks that fell due."""
    with session_scope() as session:
        return remind_overdue(session=session, as_of=as_of, actor=SWEEP_ACTOR, limit=chunk_size())


@chunk_task
def escalate_chunk(as_of: datetime) -> int:
    """Escalate one chunk of tasks past their escalation moment."""
    with session_scope() as session:
        return escalate_overdue(session=session, as_of=as_of, actor=SWEEP_ACTOR, limit=chunk_size())


@flow(name="deadline-sweep")
def deadline_sweep_flow(as_of: datetime | None = None) -> dict[str, Any]:
    """Remind the reviewers of tasks that fell due, then escalate those past their escalation moment."""
    moment = as_of or utcnow()
    reminded = escalated = 0
    while moved := remind_chunk(moment):
        reminded += moved
    while moved := escalate_chunk(moment):
        escalated += moved
    return report("deadline-sweep", "审批期限督办", {"reminded": reminded, "escalated": escalated})
