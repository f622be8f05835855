"""Reading notifications: a user's own, and their reviewer group's (their level at their org unit)."""

from __future__ import annotations

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from models.notifications import Notification
from models.users import User


def notifications_for(
    *, session: Session, user: User, limit: int = 50, offset: int = 0
) -> tuple[list[Notification], int]:
    """A page of the user's notifications, newest first, and how many there are."""
    mine = col(Notification.recipient_user_id) == user.id
    if user.review_level is not None and user.org_unit_id is not None:
        group = and_(
            col(Notification.recipient_org_id) == user.org_unit_id,
            col(Notification.recipient_level) == user.review_level,
        )
        mine = or_(mine, group)
    total = session.exec(select(func.count()).select_from(Notification).where(mine)).one()
    rows = session.exec(
        select(Notification).where(mine).order_by(col(Notification.id).desc()).limit(limit).offset(offset)
    ).all()
    return list(rows), int(total)
