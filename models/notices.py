"""The public notice (公示) of finally approved claims, and the objections (异议) anyone may raise during it.

A notice is a de-identified snapshot taken when the claim is finally approved (masked name, unit, benefit,
amount): what was posted stays what was posted. It runs for the year's notice_days; only a claim whose
notice passed with no objection still open becomes payable. An objection opens a task for the approving
level, which upholds it (the claim is rejected, or reviewed again) or dismisses it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, field_validator
from pydantic import Field as PField
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.base import money_field, status_field, timestamp_field


class NoticeStatus(StrEnum):
    """posted → passed (period over, nothing open) / withdrawn (an objection was upheld)."""

    POSTED = "posted"
    PASSED = "passed"
    WITHDRAWN = "withdrawn"


class ObjectionStatus(StrEnum):
    """open → upheld / dismissed; open → closed when its notice was withdrawn by another objection."""

    OPEN = "open"
    UPHELD = "upheld"
    DISMISSED = "dismissed"
    CLOSED = "closed"


class ClaimNotice(SQLModel, table=True):
    """One claim on the public notice board, as the public sees it: no ID number, bank card or diagnosis."""

    __tablename__ = "claim_notice"
    __table_args__ = (Index("ix_claim_notice_board", "status", "policy_year_id", "ends_at"),)

    id: int | None = Field(default=None, primary_key=True)
    notice_no: str = Field(max_length=24, unique=True)  # what the public quotes; not the claim's reference
    claim_id: int = Field(foreign_key="claim.id", index=True)
    round: int = 1
    policy_year_id: int = Field(foreign_key="policy_year.id")
    status: str = status_field(NoticeStatus.POSTED)
    version: int = 1
    masked_name: str = Field(max_length=64)
    unit_name: str = Field(max_length=120)
    benefit_type: str = Field(max_length=24)
    benefit_label: str = Field(max_length=40)
    amount_fen: int = money_field()
    approval_level: int  # the level that approved it finally, and decides objections
    posted_at: datetime = timestamp_field()
    ends_at: datetime = timestamp_field()


class Objection(SQLModel, table=True):
    """An objection to a posted claim. The contact is shown to the deciding reviewers only, never published."""

    __tablename__ = "objection"
    __table_args__ = (Index("ix_objection_client_time", "client_key", "submitted_at"),)

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=24, unique=True)  # the objector follows their objection with it
    notice_id: int = Field(foreign_key="claim_notice.id", index=True)
    claim_id: int = Field(foreign_key="claim.id", index=True)
    status: str = status_field(ObjectionStatus.OPEN)
    version: int = 1
    text: str = Field(max_length=1000)
    contact: str | None = Field(default=None, max_length=100)
    client_key: str = Field(max_length=64)  # a keyed hash of the sender's address, for the rate limit only
    submitted_at: datetime = timestamp_field()
    decided_at: datetime | None = timestamp_field(default_now=False)


class ObjectionIn(BaseModel):
    """What anyone may send against a posted claim: what is wrong, and optionally how to reach them."""

    text: str = PField(min_length=5, max_length=1000)
    contact: str | None = PField(default=None, max_length=100)

    @field_validator("text", "contact")
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if any(ord(ch) < 32 and ch not in "\n\t" for ch in value):
            raise ValueError("control characters are not allowed")
        return value.strip() or None


class NoticePublic(BaseModel):
    """A posted claim as the notice board shows it."""

    notice_no: str
    masked_name: str
    unit_name: str
    benefit_type: str
    benefit_label: str
    amount_yuan: str
    posted_at: datetime
    ends_at: datetime
    status: NoticeStatus
    objection_url: str


class ObjectionReceipt(BaseModel):
    """What an objector gets back: the reference to follow their objection, never anyone's personal data."""

    reference: str
    notice_no: str
    status: ObjectionStatus
    submitted_at: datetime
    message: str


class ObjectionForReviewer(BaseModel):
    """An objection as the reviewers deciding it see it (with the objector's contact, if given)."""

    id: int
    reference: str
    notice_no: str
    status: ObjectionStatus
    text: str
    contact: str | None
    submitted_at: datetime
