"""A reviewer's notifications: reminders of overdue tasks, escalations, objections raised (newest first)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import CurrentUser, SessionDep
from models.base import as_utc
from models.notifications import NotificationPublic
from tasks.common.notifications import notifications_for

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


@router.get("", response_model=list[NotificationPublic])
def mine(
    response: Response,
    session: SessionDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[NotificationPublic]:
    """Notifications addressed to me, or to the reviewers of my level at my org unit."""
    rows, total = notifications_for(session=session, user=user, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    return [
        NotificationPublic(
            id=n.id or 0,
            kind=n.kind,
            task_id=n.task_id,
            claim_id=n.claim_id,
            message=n.message,
            created_at=as_utc(n.created_at),
            to_me=n.recipient_user_id == user.id,
        )
        for n in rows
    ]
