"""The `mutualaid` command: the demo, the API server, migrations, and the administrators' commands."""

from __future__ import annotations

import os
import shutil
import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from mutualaid.cli_admin import admin
from mutualaid.cli_claims import claim
from mutualaid.cli_flows import run
from mutualaid.cli_rules import quote_command, rules
from mutualaid.cli_what_if import what_if

app = typer.Typer(help="工会职工医疗互助保障 — union medical mutual aid, end to end.", no_args_is_help=True)
app.add_typer(admin, name="admin")
app.add_typer(run, name="run")
app.add_typer(claim, name="claim")
app.add_typer(rules, name="rules")
app.add_typer(what_if, name="what-if")
app.command("quote")(quote_command)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (alembic upgrade head)."""
    from mutualaid.migrate import upgrade_database

    upgrade_database()
    typer.echo("database is up to date")


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(min=1, help="worker processes (PostgreSQL: about one per core)")] = 1,
    access_log: Annotated[bool, typer.Option(help="log every request (usually the reverse proxy does)")] = False,
    reload: bool = False,
) -> None:
    """Serve the API (OpenAPI docs at /docs) with uvicorn, on uvloop and the httptools parser."""
    from mutualaid.server import serve as serve_api

    serve_api(host=host, port=port, workers=workers, access_log=access_log, reload=reload)


@app.command()
def schedule(programme: str, year: int) -> None:
    """Serve the scheduled flows (dispatcher, deadline sweep, monthly disclosure, renewal reminders, document sweep)."""
    from mutualaid.cli_flows import schedule_command

    schedule_command(programme, year)


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
    from core.settings import get_settings

    get_settings.cache_clear()
    from core.db import session_scope
    from core.storage import get_store
    from mutualaid.demo import setup as demo_module
    from mutualaid.demo.cycle import programme_cycle_flow
    from mutualaid.demo.summary import demo_summary
    from mutualaid.migrate import upgrade_database

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
