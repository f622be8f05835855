"""Administrators' set-up commands: org units, programmes, policy years and users (under `mutualaid admin`).

Imports of the application happen inside the commands, so `mutualaid --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mutualaid.cli_common import domain_errors


def add_org(
    code: str,
    name: str,
    level: Annotated[str, typer.Option(help="city, county or grassroots")],
    parent: Annotated[str | None, typer.Option(help="the parent unit's code")] = None,
) -> None:
    """Add an org unit (city union, county union or grassroots union)."""
    from core.db import session_scope
    from models.org import OrgLevel
    from tasks.common.orgs import create_org_unit, get_by_code

    with session_scope() as session:
        parent_unit = get_by_code(session=session, code=parent) if parent else None
        unit = create_org_unit(session=session, code=code, name=name, level=OrgLevel(level), parent=parent_unit)
        typer.echo(f"added {unit.level} {unit.code} {unit.name} (id {unit.id})")


def add_programme(
    code: str,
    name: str,
    owner: Annotated[str, typer.Option(help="the city union's code")],
    kind: Annotated[str, typer.Option(help="mutual_aid or temporary_assistance")] = "mutual_aid",
) -> None:
    """Add a programme owned by a city union."""
    from core.db import session_scope
    from models.programmes import ProgrammeKind
    from tasks.common.orgs import get_by_code
    from tasks.common.programmes import create_programme

    with domain_errors(), session_scope() as session:
        programme = create_programme(
            session=session, code=code, name=name, owner=get_by_code(session=session, code=owner),
            kind=ProgrammeKind(kind),
        )  # fmt: skip
        typer.echo(f"added programme {programme.code} (id {programme.id})")


def open_year(
    programme: str,
    year: int,
    rules: Annotated[Path | None, typer.Option(help="a JSON file of rules; defaults where omitted")] = None,
) -> None:
    """Open a policy year with its rules (validated) and an empty fund account."""
    import json

    from sqlmodel import select

    from core.db import session_scope
    from models.errors import NotFound
    from models.programmes import Programme
    from models.rules import PolicyRules
    from tasks.common.programmes import open_policy_year, validated_rules

    with domain_errors(), session_scope() as session:
        policy = validated_rules(json.loads(rules.read_text(encoding="utf-8"))) if rules else PolicyRules()
        found = session.exec(select(Programme).where(Programme.code == programme)).first()
        if found is None:
            raise NotFound(f"未找到项目 {programme}")
        opened = open_policy_year(session=session, programme=found, year=year, rules=policy)
        typer.echo(f"opened {programme} {opened.year} (id {opened.id})")


def create_user_command(
    username: str,
    role: str,
    full_name: Annotated[str, typer.Option(help="the person's name")] = "",
    org: Annotated[str | None, typer.Option(help="org unit code")] = None,
    supervisor: Annotated[bool, typer.Option(help="supervises the reviewers of their level (escalations)")] = False,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)] = "",
) -> None:
    """Create a user (roles: admin, unit_officer, county_reviewer, city_approver, finance, auditor, member)."""
    from core.db import session_scope
    from models.users import Role, UserCreate
    from tasks.common.users import create_user

    # a member's account is linked by ID number, asked for so that it never sits in the shell history
    id_number = typer.prompt("会员身份证号", hide_input=True) if role == Role.MEMBER else None
    with domain_errors(), session_scope() as session:
        user = create_user(
            session=session,
            data=UserCreate(
                username=username, full_name=full_name or username, password=password, role=Role(role),
                org_unit_code=org, member_id_number=id_number, is_supervisor=supervisor,
            ),
        )  # fmt: skip
        typer.echo(f"created user {user.username} (id {user.id}, role {user.role})")
