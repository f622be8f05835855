"""Human tasks (审批任务) and the decisions made on them: claim review levels, objection review, eligibility review.

A task belongs to the org unit that decides at its level (`org_unit_id`, its path copied to `org_path` so a
reviewer's subtree is one index range) and is seen only by reviewers of that level inside that subtree.
Deadlines are working days (tasks.common.workdays): `due_at` brings a reminder, `escalate_at` an escalation to the
level's supervisor; both moments are fixed when the task opens.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, model_validator
from pydantic import Field as PField
from sqlalchemy import ForeignKeyConstraint, Index, text
from sqlmodel import Field, SQLModel

from models.base import enum_field, status_field, timestamp_field


class TaskKind(StrEnum):
    """What a task asks a person to decide."""

    CLAIM_REVIEW = "claim_review"
    OBJECTION_REVIEW = "objection_review"  # an objection raised during the public notice (公示异议)
    ELIGIBILITY_REVIEW = "eligibility_review"


class TaskStatus(StrEnum):
    """open → taken → completed; taken → open on release; open/taken → cancelled."""

    OPEN = "open"
    TAKEN = "taken"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Outcome(StrEnum):
    """A reviewer's decision: approve / reject / return on a review; uphold or dismiss an objection."""

    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"  # return for more materials
    UPHOLD_REJECT = "uphold_reject"  # the objection holds: the claim is rejected
    UPHOLD_REVIEW = "uphold_review"  # the objection holds: the claim is reviewed again from the first level
    DISMISS = "dismiss"  # the objection does not hold: the claim proceeds


OUTCOMES_OF_KIND: dict[TaskKind, frozenset[Outcome]] = {
    TaskKind.CLAIM_REVIEW: frozenset({Outcome.APPROVE, Outcome.REJECT, Outcome.RETURN}),
    TaskKind.OBJECTION_REVIEW: frozenset({Outcome.UPHOLD_REJECT, Outcome.UPHOLD_REVIEW, Outcome.DISMISS}),
    TaskKind.ELIGIBILITY_REVIEW: frozenset({Outcome.APPROVE, Outcome.REJECT}),
}


# The statuses of the queue's partial index, written out: a planner uses a partial index only for a query
# whose condition it can see implies the index's, so the queries write this same text (tasks.approval.queue).
OPEN_PREDICATE = "status IN ('open', 'taken')"


class ApprovalTask(SQLModel, table=True):
    """One decision to be made by a reviewer of `level` inside the subtree of `org_unit_id`."""

    __tablename__ = "approval_task"
    __table_args__ = (
        # One review task per claim, round and level; objection tasks are one per objection.
        Index(
            "uq_task_review_claim_round_level", "claim_id", "round", "level", unique=True,
            sqlite_where=text("kind = 'claim_review'"), postgresql_where=text("kind = 'claim_review'"),
        ),
        Index("uq_task_objection", "objection_id", unique=True),
        # Named, because they were added to an existing table (migration 0004).
        ForeignKeyConstraint(["objection_id"], ["objection.id"], name="approval_task_objection_id_fkey"),
        ForeignKeyConstraint(["escalated_to_id"], ["app_user.id"], name="approval_task_escalated_to_id_fkey"),
        # The reviewer's queue of open and taken tasks, soonest due first: for a reviewer at their level's own
        # org unit one equality and an index walk in due order; the filters are read in the index too.
        Index(
            "ix_task_open_queue", "level", "org_path", "due_at", "id", "status", "kind", "benefit_type",
            "assignee_id", "unit_path", "escalated_at",
            sqlite_where=text(OPEN_PREDICATE), postgresql_where=text(OPEN_PREDICATE),
        ),
        # Searches of decided (or cancelled) tasks.
        Index("ix_task_queue", "level", "status", "org_path", "due_at"),
        # The deadline sweep: open tasks that fell due, or are past their escalation moment.
        Index("ix_task_due", "status", "due_at"),
        Index("ix_task_escalate", "status", "escalate_at"),
    )  # fmt: skip

    id: int | None = Field(default=None, primary_key=True)
    kind: TaskKind = enum_field(length=24)
    claim_id: int | None = Field(default=None, foreign_key="claim.id", index=True)
    enrolment_id: int | None = Field(default=None, foreign_key="enrolment.id", index=True)
    level: int
    round: int = 1
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True)
    status: str = status_field(TaskStatus.OPEN)
    version: int = 1
    assignee_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    taken_at: datetime | None = timestamp_field(default_now=False)
    due_at: datetime | None = timestamp_field(default_now=False)
    created_at: datetime = timestamp_field()
    completed_at: datetime | None = timestamp_field(default_now=False)
    objection_id: int | None = None
    benefit_type: str | None = Field(default=None, max_length=24)  # the claim's, for filtering the queue
    org_path: str = Field(default="/", max_length=255)  # the path of org_unit_id (its subtree is a prefix range)
    escalate_at: datetime | None = timestamp_field(default_now=False)
    reminded_at: datetime | None = timestamp_field(default_now=False)
    escalated_at: datetime | None = timestamp_field(default_now=False)
    escalated_to_id: int | None = None
    unit_path: str = Field(default="/", max_length=255)  # the path of the claim's (or enrolment's) unit


class Decision(SQLModel, table=True):
    """What a reviewer decided, one per task. Four eyes are kept by the database too (models.four_eyes)."""

    __tablename__ = "decision"

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="approval_task.id", unique=True)
    claim_id: int | None = Field(default=None, foreign_key="claim.id", index=True)
    round: int = 1
    level: int
    outcome: Outcome = enum_field(length=16)
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
            raise ValueError("a reason is required to reject, return, or decide an objection")
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
    objection_id: int | None = None
    escalate_at: datetime | None = None
    overdue: bool = False
    reminded_at: datetime | None = None
    escalated_at: datetime | None = None
    escalated_to_id: int | None = None
