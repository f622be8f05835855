"""Programmes (the union's mutual aid, temporary assistance, …) and their policy years with rules as data."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import enum_field, json_field, status_field, timestamp_field
from models.rules import PolicyRules


class ProgrammeKind(StrEnum):
    """The programme shapes the rules engine knows."""

    MUTUAL_AID = "mutual_aid"  # 职工医疗互助
    TEMPORARY_ASSISTANCE = "temporary_assistance"  # 临时救助


class Programme(SQLModel, table=True):
    """A programme owned by a city union, for members of grassroots unions in its region."""

    __tablename__ = "programme"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=120)
    kind: ProgrammeKind = enum_field(length=24)
    owner_org_id: int = Field(foreign_key="org_unit.id")


class PolicyYear(SQLModel, table=True):
    """One year of a programme, with the rules that apply to events in it."""

    __tablename__ = "policy_year"
    __table_args__ = (UniqueConstraint("programme_id", "year"),)

    id: int | None = Field(default=None, primary_key=True)
    programme_id: int = Field(foreign_key="programme.id", index=True)
    year: int
    starts_on: date
    ends_on: date
    status: str = status_field("open")
    rules_version: int = 1
    rules: dict[str, Any] = json_field(default_factory=dict)

    def policy(self) -> PolicyRules:
        """The validated rules of this year."""
        return PolicyRules.model_validate(self.rules)


class PolicyRulesVersion(SQLModel, table=True):
    """Every version of a year's rules, kept for good: what a claim was calculated under stays readable.

    The year's current rules are also on the policy year itself (rules, rules_version); a change of rules
    adds a version here and moves those two, in one transaction (tasks.common.programmes.change_rules).
    """

    __tablename__ = "policy_rules_version"
    __table_args__ = (UniqueConstraint("policy_year_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    policy_year_id: int = Field(foreign_key="policy_year.id", index=True)
    version: int
    rules: dict[str, Any] = json_field(default_factory=dict)
    note: str = Field(default="", max_length=200)
    created_by: str = Field(default="", max_length=64)
    created_at: datetime = timestamp_field()
