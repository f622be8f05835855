"""Org units: the city union, its county unions, and the grassroots unions (one per employer unit)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from models.base import enum_field


class OrgLevel(StrEnum):
    """Where an org unit sits in the union chain."""

    CITY = "city"
    COUNTY = "county"
    GRASSROOTS = "grassroots"


# The kind of org unit that decides at each approval level (DOMAIN 2.7): L1 grassroots, L2 county, L3 city.
LEVEL_ORG = {1: OrgLevel.GRASSROOTS, 2: OrgLevel.COUNTY, 3: OrgLevel.CITY}


class OrgUnit(SQLModel, table=True):
    """One union body. `path` is the materialised ancestry ('/1/4/27/') so a subtree is one LIKE."""

    __tablename__ = "org_unit"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=120)
    level: OrgLevel = enum_field(length=16)
    parent_id: int | None = Field(default=None, foreign_key="org_unit.id", index=True)
    path: str = Field(default="/", max_length=255, index=True)
    region_code: str | None = Field(default=None, max_length=12)


class OrgUnitPublic(BaseModel):
    """An org unit as the API shows it."""

    id: int
    code: str
    name: str
    level: OrgLevel
    parent_id: int | None
