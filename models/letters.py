"""Letters to the applicant (通知书): the decision on their claim, stored in object storage and listed on the claim.

A letter is written from the outbox event of the decision (tasks.letters.decision_letters): one letter per event, so a
dispatcher that runs twice never writes two. The applicant must be told within the year's letter_days
(default 7) of the decision: `due_at` is that limit, `created_at` when the letter was written.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from models.base import enum_field, timestamp_field


class LetterKind(StrEnum):
    """What the letter tells the applicant."""

    APPROVAL = "approval"  # 补偿决定通知书
    REJECTION = "rejection"  # 不予补偿决定通知书, with the reason
    MATERIALS_REQUEST = "materials_request"  # 补充材料通知书


class Letter(SQLModel, table=True):
    """One letter about one claim; its text lives in object storage under `object_key`."""

    __tablename__ = "letter"

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claim.id", index=True)
    kind: LetterKind = enum_field(length=24)
    language: str = Field(default="zh-CN", max_length=8)
    object_key: str = Field(max_length=255)
    media_type: str = Field(max_length=64)
    size: int
    sha256: str = Field(max_length=64)
    outbox_message_id: int = Field(foreign_key="outbox_message.id", unique=True)
    decided_at: datetime = timestamp_field()
    due_at: datetime = timestamp_field()
    created_at: datetime = timestamp_field()


class LetterPublic(BaseModel):
    """A letter as its readers see it listed."""

    id: int
    claim_id: int
    kind: LetterKind
    kind_label: str
    language: str
    media_type: str
    size: int
    sha256: str
    decided_at: datetime
    due_at: datetime
    created_at: datetime
    on_time: bool
    url: str
