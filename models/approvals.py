"""Human tasks (审批任务) and the decisions made on them: claim review levels and eligibility review."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, model_validator
from pydantic import Field as PField
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import enum_field, status_field, timestamp_field


class TaskKind(StrEnum):
    """What a task asks a person to decide."""

    CLAIM_REVIEW = "claim_review"
    ELIGIBILITY_REVIEW = "eligibility_review"


class TaskStatus(StrEnum):
    """open → taken → completed; taken → open on release; open/taken → cancelled."""

    OPEN = "open"
    TAKEN = "taken"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Outcome(StrEnum):
    """A reviewer's decision."""

    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"  # return for more materials


LEVEL_NAMES_ZH = {1: "初审（基层工会）", 2: "审核（县区总工会）", 3: "审批（市总工会）"}


class ApprovalTask(SQLModel, table=True):
    """One decision to be made by a reviewer of `level` inside the subtree of `org_unit_id`."""

    __tablename__ = "approval_task"
    __table_args__ = (UniqueConstraint("kind", "claim_id", "round", "level", name="uq_task_claim_round_level"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: TaskKind = enum_field(length=24)
    claim_id: int | None = Field(default=None, foreign_key="claim.id", index=True)
    enrolment_id: int | None = Field(default=None, foreign_key="enrolment.id", index=True)
    level: int = Field(index=True)
    round: int = 1
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True)
    status: str = status_field(TaskStatus.OPEN)
    version: int = 1
    assignee_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    taken_at: datetime | None = timestamp_field(default_now=False)
    due_at: datetime | None = timestamp_field(default_now=False, index=True)
    created_at: datetime = timestamp_field()
    completed_at: datetime | None = timestamp_field(default_now=False)


class Decision(SQLModel, table=True):
    """What a reviewer decided. One per task; one person decides a claim at one level per round only."""

    __tablename__ = "decision"
    __table_args__ = (UniqueConstraint("claim_id", "round", "decided_by", name="uq_decision_four_eyes"),)

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="approval_task.id", unique=True)
    claim_id: int | None = Field(default=None, foreign_key="claim.id", index=True)
    round: int = 1
    level: int
    outcome: Outcome = enum_field(length=12)
    reason: str | None = Field(default=None, max_length=500)
    decided_by: int = Field(foreign_key="app_user.id", index=True)
    task_version: int
    decided_at: datetime = timestamp_field()


class DecisionIn(BaseModel):
    """A reviewer's decision as sent to the API: the version they saw, and a reason unless approving."""

    outcome: Outcome
    reason: str | None = PField(default=None, max_length=500)
    version: int = PField(ge=1)

    @model_validator(mode="after")
    def _reason_required(self) -> DecisionIn:
        if self.outcome != Outcome.APPROVE and not (self.reason and self.reason.strip()):
            raise ValueError("a reason is required to reject or return")
        return self


class TaskPublic(BaseModel):
    """A task as the reviewer's queue shows it."""

    id: int
    kind: TaskKind
    claim_id: int | None
    claim_reference: str | None = None
    enrolment_id: int | None
    level: int
    level_name: str
    round: int
    org_unit_id: int
    status: TaskStatus
    version: int
    assignee_id: int | None
    due_at: datetime | None
    created_at: datetime
    benefit_type: str | None = None
    payout_yuan: str | None = None
