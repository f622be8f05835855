"""Programmes and policy years: rules stored as validated data, one fund account per year."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from models.errors import NotFound
from models.funds import FundAccount
from models.org import OrgUnit
from models.programmes import PolicyYear, Programme, ProgrammeKind
from models.rules import PolicyRules


def create_programme(
    *, session: Session, code: str, name: str, owner: OrgUnit, kind: ProgrammeKind = ProgrammeKind.MUTUAL_AID
) -> Programme:
    """Add a programme owned by a city union."""
    assert owner.id is not None
    programme = Programme(code=code, name=name, kind=kind, owner_org_id=owner.id)
    session.add(programme)
    session.flush()
    return programme


def open_policy_year(
    *, session: Session, programme: Programme, year: int, rules: PolicyRules | None = None
) -> PolicyYear:
    """Open a calendar policy year with its rules and an empty fund account."""
    assert programme.id is not None
    policy_year = PolicyYear(
        programme_id=programme.id,
        year=year,
        starts_on=date(year, 1, 1),
        ends_on=date(year, 12, 31),
        rules=(rules or PolicyRules()).model_dump(mode="json"),
    )
    session.add(policy_year)
    session.flush()
    assert policy_year.id is not None
    session.add(FundAccount(policy_year_id=policy_year.id))
    session.flush()
    return policy_year


def get_policy_year(*, session: Session, programme_code: str, year: int) -> PolicyYear:
    """The policy year of a programme, or NotFound."""
    found = session.exec(
        select(PolicyYear)
        .join(Programme, Programme.id == PolicyYear.programme_id)  # type: ignore[arg-type]
        .where(Programme.code == programme_code, PolicyYear.year == year)
    ).first()
    if found is None:
        raise NotFound(f"未找到项目 {programme_code} 的 {year} 年度")
    return found


def policy_year_for(*, session: Session, programme_id: int, on: date) -> PolicyYear | None:
    """The policy year of a programme that contains a date."""
    return session.exec(
        select(PolicyYear).where(
            PolicyYear.programme_id == programme_id, PolicyYear.starts_on <= on, PolicyYear.ends_on >= on
        )
    ).first()
