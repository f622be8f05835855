"""The bar list (禁入名单, DOMAIN 2.3): people a programme has barred for fraud, managed by administrators.

Personal data (the ID number): never log or publish it. An entry is never deleted: lifting a bar sets
`lifted_at`, and barring the same person again reopens the same row (one row per programme and ID number).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import timestamp_field


class BarListEntry(SQLModel, table=True):
    """One person barred from one programme; in force while `lifted_at` is empty."""

    __tablename__ = "bar_list_entry"
    __table_args__ = (UniqueConstraint("programme_id", "id_number", name="uq_bar_list_programme_id_number"),)

    id: int | None = Field(default=None, primary_key=True)
    programme_id: int = Field(foreign_key="programme.id")
    id_number: str = Field(max_length=18)
    reason: str = Field(max_length=200)
    added_by: str = Field(max_length=64)  # the actor's label (username or flow); the audit log has the user id
    added_at: datetime = timestamp_field()
    lifted_at: datetime | None = timestamp_field(default_now=False)


class BarListEntryPublic(BaseModel):
    """A bar list entry as an administrator sees it (the API masks the ID number for other roles)."""

    id: int
    programme_id: int
    id_number: str
    reason: str
    added_by: str
    added_at: datetime
    lifted_at: datetime | None
