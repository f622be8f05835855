"""Test data built through the product's own services: an org tree, a programme year, users per role."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session

from core.security import hash_password
from models.org import OrgLevel, OrgUnit
from models.programmes import PolicyYear, Programme
from models.rules import PolicyRules
from models.users import Role, User, UserCreate
from tasks.common.idcard import make_id_number
from tasks.common.orgs import create_org_unit
from tasks.common.programmes import create_programme, open_policy_year
from tasks.common.users import create_user

PASSWORD = "correct-horse-42"


@functools.cache
def hash_once(password: str) -> str:
    """One real Argon2 hash per distinct password for the whole run (each hash costs ~0.15 s)."""
    return hash_password(password)


@dataclass
class World:
    """A city union with two counties of two grassroots unions each, a programme year, and users."""

    city: OrgUnit
    counties: list[OrgUnit]
    units: list[OrgUnit]  # grassroots: units[0], units[1] under counties[0]; units[2], units[3] under counties[1]
    programme: Programme
    policy_year: PolicyYear
    users: dict[str, User] = field(default_factory=dict)

    def user(self, name: str) -> User:
        """A user by factory name, e.g. 'admin', 'l1_a', 'l2_a', 'l3'."""
        return self.users[name]


def build_world(session: Session, *, year: int = 2026, rules: PolicyRules | None = None) -> World:
    """Create the standard test world and commit it."""
    city = create_org_unit(session=session, code="C01", name="示范市总工会", level=OrgLevel.CITY)
    counties = [
        create_org_unit(session=session, code=f"X0{i}", name=f"第{i}区总工会", level=OrgLevel.COUNTY, parent=city)
        for i in (1, 2)
    ]
    units = [
        create_org_unit(
            session=session,
            code=f"G{c}{u}",
            name=f"第{c}区第{u}单位工会",
            level=OrgLevel.GRASSROOTS,
            parent=counties[c - 1],
        )
        for c in (1, 2)
        for u in (1, 2)
    ]
    programme = create_programme(session=session, code="MA", name="职工医疗互助保障", owner=city)
    policy_year = open_policy_year(session=session, programme=programme, year=year, rules=rules)
    world = World(city, counties, units, programme, policy_year)
    specs = [
        ("admin", Role.ADMIN, None),
        ("auditor", Role.AUDITOR, None),
        ("finance", Role.FINANCE, None),
        ("l1_a", Role.UNIT_OFFICER, "G11"),
        ("l1_a2", Role.UNIT_OFFICER, "G11"),
        ("l1_b", Role.UNIT_OFFICER, "G21"),
        ("l2_a", Role.COUNTY_REVIEWER, "X01"),
        ("l2_a2", Role.COUNTY_REVIEWER, "X01"),
        ("l2_b", Role.COUNTY_REVIEWER, "X02"),
        ("l3", Role.CITY_APPROVER, "C01"),
        ("l3_2", Role.CITY_APPROVER, "C01"),
    ]
    for name, role, org in specs:
        world.users[name] = create_user(
            session=session,
            data=UserCreate(username=name, full_name=name, password=PASSWORD, role=role, org_unit_code=org),
        )
    session.commit()
    return world


def id_number(n: int, *, birth: date = date(1980, 5, 17), male: bool = True) -> str:
    """The n-th valid test ID number."""
    return make_id_number("110105", birth, n, male=male)
