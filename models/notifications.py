"""Notifications (提醒): what the system tells a person or a reviewer group, e.g. an overdue task or an escalation.

A notification goes to one user, or to every reviewer of one level at one org unit (`recipient_org_id` and
`recipient_level`), so that reminding a group costs one row, not one per reviewer. Messages are zh-CN and
never carry an ID number, bank card or diagnosis.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.base import enum_field, timestamp_field


class NotificationKind(StrEnum):
    """Why someone is told."""

    TASK_OVERDUE = "task_overdue"  # 到期提醒
    TASK_ESCALATED = "task_escalated"  # 超期督办
    OBJECTION_RAISED = "objection_raised"  # 公示异议


class Notification(SQLModel, table=True):
    """One message to a user or to a reviewer group."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_group", "recipient_org_id", "recipient_level"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: NotificationKind = enum_field(length=24)
    recipient_user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    recipient_org_id: int | None = Field(default=None, foreign_key="org_unit.id")
    recipient_level: int | None = None
    task_id: int | None = Field(default=None, foreign_key="approval_task.id", index=True)
    claim_id: int | None = Field(default=None, foreign_key="claim.id")
    message: str = Field(max_length=300)
    created_at: datetime = timestamp_field()


class NotificationPublic(BaseModel):
    """A notification as its recipient sees it."""

    id: int
    kind: NotificationKind
    task_id: int | None
    claim_id: int | None
    message: str
    created_at: datetime
    to_me: bool  # addressed to me by name, not only to my reviewer group
