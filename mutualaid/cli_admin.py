"""Administrators' commands: org units, programmes and policy years, users, rosters."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

admin = typer.Typer(help="Set up the union tree, programmes, years and users.", no_args_is_help=True)


@admin.command("add-org")
def add_org(
    code: str,
    name: str,
    level: Annotated[str, typer.Option(help="city, county or grassroots")],
    parent: Annotated[str | None, typer.Option(help="the parent unit's code")] = None,
) -> None:
    """Add an org unit (city union, county union or grassroots union)."""
    from models.org import OrgLevel
    from mutualaid.db import session_scope
    from tasks.orgs import create_org_unit, get_by_code

    with session_scope() as session:
        parent_unit = get_by_code(session=session, code=parent) if parent else None
        unit = create_org_unit(session=session, code=code, name=name, level=OrgLevel(level), parent=parent_unit)
        typer.echo(f"added {unit.level} {unit.code} {unit.name} (id {unit.id})")


@admin.command("add-programme")
def add_programme(code: str, name: str, owner: Annotated[str, typer.Option(help="the city union's code")]) -> None:
    """Add a programme owned by a city union."""
    from mutualaid.db import session_scope
    from tasks.orgs import get_by_code
    from tasks.programmes import create_programme

    with session_scope() as session:
        programme = create_programme(
            session=session, code=code, name=name, owner=get_by_code(session=session, code=owner)
        )
        typer.echo(f"added programme {programme.code} (id {programme.id})")


@admin.command("open-year")
def open_year(
    programme: str,
    year: int,
    rules: Annotated[Path | None, typer.Option(help="a JSON file of rules; defaults where omitted")] = None,
) -> None:
    """Open a policy year with its rules (validated) and an empty fund account."""
    from sqlmodel import select

    from models.programmes import Programme
    from models.rules import PolicyRules
    from mutualaid.db import session_scope
    from tasks.programmes import open_policy_year

    policy = PolicyRules.model_validate_json(rules.read_text(encoding="utf-8")) if rules else PolicyRules()
    with session_scope() as session:
        found = session.exec(select(Programme).where(Programme.code == programme)).one()
        opened = open_policy_year(session=session, programme=found, year=year, rules=policy)
        typer.echo(f"opened {programme} {opened.year} (id {opened.id})")


@admin.command("create-user")
def create_user_command(
    username: str,
    role: str,
    full_name: Annotated[str, typer.Option(help="the person's name")] = "",
    org: Annotated[str | None, typer.Option(help="org unit code")] = None,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)] = "",
) -> None:
    """Create a user (roles: admin, unit_officer, county_reviewer, city_approver, finance, auditor, member)."""
    from models.users import Role, UserCreate
    from mutualaid.db import session_scope
    from tasks.users import create_user

    with session_scope() as session:
        user = create_user(
            session=session,
            data=UserCreate(
                username=username, full_name=full_name or username, password=password, role=Role(role),
                org_unit_code=org,
            ),
        )  # fmt: skip
        typer.echo(f"created user {user.username} (id {user.id}, role {user.role})")


@admin.command("import-roster")
def import_roster_command(path: Path, programme: str, year: int) -> None:
    """Import a roster CSV for a programme year; writes a row-level error report beside it."""
    from mutualaid.db import session_scope
    from tasks.programmes import get_policy_year
    from tasks.registration import import_roster
    from tasks.roster import error_report_csv

    with session_scope() as session:
        policy_year = get_policy_year(session=session, programme_code=programme, year=year)
        report = import_roster(
            session=session, policy_year=policy_year, data=path.read_bytes(), importer_scope_path=None
        )
    typer.echo(
        f"rows: {report.total_rows}, imported: {report.imported}, rejected: {len({e.row for e in report.errors})}"
    )
    if report.errors:
        out = path.with_suffix(".errors.csv")
        out.write_bytes(error_report_csv(report.errors))
        typer.echo(f"error report: {out}")
