"""The `mutualaid` command: the demo, the API server, migrations, and the administrators' commands."""

from __future__ import annotations

import os
import shutil
import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="工会职工医疗互助保障 — union medical mutual aid, end to end.", no_args_is_help=True)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (alembic upgrade head)."""
    from mutualaid.migrate import upgrade_database

    upgrade_database()
    typer.echo("database is up to date")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, reload: bool = False) -> None:
    """Serve the API (OpenAPI docs at /docs)."""
    import uvicorn

    uvicorn.run("api.main:app", host=host, port=port, reload=reload)


@app.command("create-user")
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


@app.command("import-roster")
def import_roster_command(path: Path, programme: str, year: int) -> None:
    """Import a roster CSV for a programme year (as an administrator); writes an error report beside it."""
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


@app.command()
def demo(
    members: int = 3000,
    units: int = 24,
    claims: int = 150,
    data_dir: Annotated[Path, typer.Option(help="wiped and rebuilt for the demo")] = Path("data/demo"),
) -> None:
    """Run a whole programme year on generated data and print a summary."""
    started = time.monotonic()
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    os.environ["MUTUALAID_DATA_DIR"] = str(data_dir.resolve())
    os.environ.pop("MUTUALAID_DATABASE_URL", None)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from mutualaid.settings import get_settings

    get_settings.cache_clear()
    from flows.cycle import programme_cycle_flow
    from mutualaid import demo as demo_module
    from mutualaid.db import session_scope
    from mutualaid.migrate import upgrade_database
    from mutualaid.storage import get_store
    from mutualaid.summary import demo_summary

    upgrade_database()
    today = date.today()
    with session_scope() as session:
        plan = demo_module.set_up(session, today=today, member_count=members, unit_count=units)
    demo_module.hand_in_papers(get_store(), plan, member_count=members, claim_count=claims, today=today)
    typer.echo(f"demo: {members} members in {units} units, {claims} claims, programme year {plan.year}")
    results = programme_cycle_flow(plan)
    with session_scope() as session:
        typer.echo(demo_summary(session=session, year=plan.year, results=results, seconds=time.monotonic() - started))


if __name__ == "__main__":
    app()
