"""Enrolments: a member in a policy year, from registration through eligibility to paid coverage."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import enum_field, money_field, status_field, timestamp_field


class EnrolmentStatus(StrEnum):
    """registered → eligible / ineligible / needs_review → active (paid, covered) → lapsed."""

    REGISTERED = "registered"
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    NEEDS_REVIEW = "needs_review"
    ACTIVE = "active"
    LAPSED = "lapsed"


class EnrolmentKind(StrEnum):
    """First-time or renewal; decides when coverage starts (DOMAIN 2.4)."""

    NEW = "new"
    RENEWAL = "renewal"


class Enrolment(SQLModel, table=True):
    """A member's participation in one policy year."""

    __tablename__ = "enrolment"
    __table_args__ = (UniqueConstraint("member_id", "policy_year_id"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    policy_year_id: int = Field(foreign_key="policy_year.id", index=True)
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True)
    kind: EnrolmentKind = enum_field(length=12)
    status: str = status_field(EnrolmentStatus.REGISTERED)
    version: int = 1
    reason: str | None = Field(default=None, max_length=200)
    contribution_fen: int = money_field()
    receipt_id: int | None = Field(default=None, foreign_key="fund_receipt.id")
    registered_at: datetime = timestamp_field()
    paid_on: date | None = None
    coverage_start: date | None = None
    coverage_end: date | None = None
