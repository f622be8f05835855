"""Step 6, multi-level approval (多级审批): route calculated claims to their first level.

The decisions themselves are made by people through the API; each decision opens the next level in its
own transaction, so nothing here waits for a person.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from sqlalchemy import func
from sqlmodel import select

from flows.common import chunk_size, chunk_task, id_chunks, report
from models.approvals import ApprovalTask, TaskStatus
from models.states import Actor
from mutualaid.db import session_scope
from tasks.adjudication import route_claims, submitted_claim_ids

FLOW_ACTOR = Actor(None, "flow:approval")


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
