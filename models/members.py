"""Members (职工 / 会员): the workers who enrol and claim. Holds personal data: never log or publish it."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from models.base import enum_field, timestamp_field


class EmploymentStatus(StrEnum):
    """在职 / 退休."""

    IN_SERVICE = "in_service"
    RETIRED = "retired"


class Sex(StrEnum):
    """From the 17th character of the ID number: odd male, even female."""

    MALE = "M"
    FEMALE = "F"


class Member(SQLModel, table=True):
    """A worker, identified by their national ID number."""

    __tablename__ = "member"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    id_number: str = Field(max_length=18, unique=True)
    birth_date: date
    sex: Sex = enum_field(length=1)
    phone: str | None = Field(default=None, max_length=20)
    employment_status: EmploymentStatus = enum_field(length=16)
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True)
    bank_card: str | None = Field(default=None, max_length=32)
    bank_name: str | None = Field(default=None, max_length=64)
    barred: bool = False  # barred for fraud (DOMAIN 2.3)
    created_at: datetime = timestamp_field()
