"""Users of the system: union officers, reviewers, finance, administrators, auditors, members."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel
from pydantic import Field as PField
from sqlmodel import Field, SQLModel

from models.base import enum_field, timestamp_field


class Role(StrEnum):
    """What a user may do. Review levels follow the union chain (DOMAIN 2.7)."""

    ADMIN = "admin"
    UNIT_OFFICER = "unit_officer"  # grassroots union officer: rosters, contributions, L1 review
    COUNTY_REVIEWER = "county_reviewer"  # L2
    CITY_APPROVER = "city_approver"  # L3
    FINANCE = "finance"
    AUDITOR = "auditor"
    MEMBER = "member"


REVIEW_LEVEL_OF_ROLE: dict[Role, int] = {
    Role.UNIT_OFFICER: 1,
    Role.COUNTY_REVIEWER: 2,
    Role.CITY_APPROVER: 3,
}


class User(SQLModel, table=True):
    """A person who signs in. Reviewers see tasks of their level inside their org subtree."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    full_name: str = Field(max_length=64)
    password_hash: str = Field(max_length=255)
    role: Role = enum_field(length=24)
    org_unit_id: int | None = Field(default=None, foreign_key="org_unit.id", index=True)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    is_active: bool = True
    created_at: datetime = timestamp_field()
    # Supervises the reviewers of their level in their org subtree: overdue tasks are escalated to them.
    is_supervisor: bool = False

    @property
    def review_level(self) -> int | None:
        """The approval level this user decides at, if any."""
        return REVIEW_LEVEL_OF_ROLE.get(Role(self.role))


class UserCreate(BaseModel):
    """What an administrator gives to create a user."""

    username: str = PField(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    full_name: str = PField(min_length=1, max_length=64)
    password: str = PField(min_length=8, max_length=128)
    role: Role
    org_unit_code: str | None = None
    # A member's own account is linked to their member record by ID number (required for the member role).
    member_id_number: str | None = PField(default=None, min_length=15, max_length=18, repr=False)
    is_supervisor: bool = False


class UserPublic(BaseModel):
    """A user as the API shows it: never the password hash."""

    id: int
    username: str
    full_name: str
    role: Role
    org_unit_id: int | None
    review_level: int | None
    is_active: bool
    is_supervisor: bool = False
