"""Running the steps: each flow by hand, and the scheduled ones as Prefect deployments."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

SHANGHAI = "Asia/Shanghai"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

run = typer.Typer(help="Run one step of the programme as a Prefect flow.", no_args_is_help=True)


def _show(result: dict[str, Any]) -> None:
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))


@run.command()
def publicity(programme: str, year: int) -> None:
    """Publish the year's announcement, materials checklist and warm reminder."""
    from flows.publicity import publicity_flow

    _show(publicity_flow(programme, year))


@run.command()
def registration(programme: str, year: int, roster: Path) -> None:
    """Put a roster file into the object store and import it."""
    from core.storage import get_store
    from flows.registration import registration_flow

    key = f"rosters/{year}/{date.today():%Y%m%d}-{roster.name}"
    media_type = XLSX if roster.suffix.lower() == ".xlsx" else "text/csv"
    get_store().put(key, roster.read_bytes(), media_type=media_type, immutable=False)
    _show(registration_flow(programme, year, key))


@run.command()
def eligibility(programme: str, year: int) -> None:
    """Apply the automatic eligibility rules to the year's registered enrolments."""
    from flows.eligibility import eligibility_flow

    _show(eligibility_flow(programme, year))


@run.command()
def claims(intake_batch: Annotated[str | None, typer.Argument(help="inbox/claims/<batch>")] = None) -> None:
    """File the claims of an intake batch and calculate every submitted claim."""
    from flows.claims import claims_flow

    _show(claims_flow(intake_batch))


@run.command()
def approval() -> None:
    """Route calculated claims to their first review level."""
    from flows.approval import approval_flow

    _show(approval_flow())


@run.command()
def disbursement(programme: str, year: int) -> None:
    """Release passed notices, batch payable claims, import arrived bank results."""
    from flows.disbursement import disbursement_flow

    _show(disbursement_flow(programme, year))


@run.command()
def disclosure(programme: str, year: int, period: str) -> None:
    """Publish the disclosure of a period ('2026' or '2026-11')."""
    from flows.disclosure import disclosure_flow

    _show(disclosure_flow(programme, year, period))


@run.command("document-sweep")
def document_sweep(
    grace_minutes: Annotated[int, typer.Option(min=0, help="keep objects younger than this")] = 60,
    dry_run: Annotated[bool, typer.Option(help="count, delete nothing")] = False,
) -> None:
    """Remove claim documents that no claim references (older than the grace period)."""
    from flows.housekeeping import document_sweep_flow

    _show(document_sweep_flow(grace_minutes, dry_run))


@run.command("deadline-sweep")
def deadline_sweep() -> None:
    """Remind reviewers of overdue approval tasks and escalate those past their escalation moment."""
    from flows.approval import deadline_sweep_flow

    _show(deadline_sweep_flow())


@run.command()
def dispatch() -> None:
    """Dispatch the pending outbox events: the decision letters to applicants."""
    from flows.dispatch import outbox_dispatch_flow

    _show(outbox_dispatch_flow())


def schedule_command(programme: str, year: int) -> None:
    """Serve the scheduled flows: monthly disclosure (1st of the month), renewal reminders (Nov 1), the
    nightly sweep of unreferenced claim documents, the deadline sweep of approval tasks (every 30 minutes),
    and the outbox dispatcher (every minute, and on request right after a decision)."""
    from prefect import serve
    from prefect.schedules import Cron, Interval

    from flows.approval import deadline_sweep_flow
    from flows.disclosure import monthly_disclosure_flow
    from flows.dispatch import outbox_dispatch_flow
    from flows.housekeeping import document_sweep_flow
    from flows.publicity import renewal_reminders_flow

    parameters = {"programme_code": programme, "year": year}
    serve(
        _deployment(monthly_disclosure_flow, "monthly-disclosure", Cron("0 6 1 * *", timezone=SHANGHAI), parameters),
        _deployment(renewal_reminders_flow, "renewal-reminders", Cron("0 8 1 11 *", timezone=SHANGHAI), parameters),
        _deployment(document_sweep_flow, "document-sweep", Cron("30 2 * * *", timezone=SHANGHAI)),
        _deployment(outbox_dispatch_flow, "outbox-dispatch", Interval(60)),
        _deployment(deadline_sweep_flow, "deadline-sweep", Cron("*/30 * * * *", timezone=SHANGHAI)),
    )


def _deployment(flow: Any, name: str, schedule: Any, parameters: dict[str, Any] | None = None) -> RunnerDeployment:
    """A flow as a deployment on one schedule (with the parameters it needs, if any)."""
    # to_deployment is synchronous outside an event loop; its declared type also admits a coroutine.
    return cast("RunnerDeployment", flow.to_deployment(name=name, schedules=[schedule], parameters=parameters))
