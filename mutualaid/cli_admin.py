"""Administrators' commands: org units, programmes and policy years, users, rosters, renewal, fund collection.

Imports of the application happen inside the commands, so `mutualaid --help` stays fast. A domain error
(unknown unit, duplicate reference, nothing to collect …) ends a command with its zh-CN message and exit code 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.progress import Progress

admin = typer.Typer(
    help="Set up the union tree, programmes, years and users; import rosters, renew, record the fund.",
    no_args_is_help=True,
)
DateOption = Annotated[datetime, typer.Option("--date", formats=["%Y-%m-%d"], help="收款日期 YYYY-MM-DD")]
XLSX_MAGIC = b"PK\x03\x04"


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn a domain error into its message on stderr and exit code 1 (no traceback)."""
    from models.errors import DomainError

    try:
        yield
    except DomainError as exc:
        typer.secho(f"错误：{exc.message}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None


def progress_bar(*, in_bytes: bool) -> Progress:
    """A rich progress bar: bytes read of a known total, or a running count when the total is unknown."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    amount = DownloadColumn() if in_bytes else MofNCompleteColumn()
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), amount, TimeElapsedColumn())


@admin.command("add-org")
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


@admin.command("add-programme")
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


@admin.command("open-year")
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


@admin.command("create-user")
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


@admin.command("import-roster")
def import_roster_command(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="名册 CSV 或 .xlsx")],
    programme: str,
    year: int,
    unit: Annotated[str | None, typer.Option(help="import only rows of this unit (or its subtree)")] = None,
    chunk_size: Annotated[int, typer.Option(min=100, max=100_000, help="rows per committed chunk")] = 5000,
) -> None:
    """Import a roster (CSV or .xlsx) for a programme year, committing each chunk; errors go beside the file."""
    from core.db import session_scope
    from tasks.common.orgs import get_by_code
    from tasks.common.programmes import get_policy_year
    from tasks.registration.enrolment import import_roster
    from tasks.registration.roster import error_report_csv

    size = path.stat().st_size
    with domain_errors(), session_scope() as session, path.open("rb") as stream:
        is_xlsx = stream.read(len(XLSX_MAGIC)) == XLSX_MAGIC
        stream.seek(0)
        policy_year = get_policy_year(session=session, programme_code=programme, year=year)
        scope = get_by_code(session=session, code=unit).path if unit else None
        label = f"导入 {path.name}"
        # A CSV is read front to back, so the bytes read so far measure progress; a workbook is a zip read in
        # any order, so it counts rows against an unknown total.
        with progress_bar(in_bytes=not is_xlsx) as progress:
            bar = progress.add_task(label, total=None if is_xlsx else size)

            def advance(rows: int) -> None:
                done = rows if is_xlsx else min(stream.tell(), size)
                progress.update(bar, completed=done, description=f"{label}：{rows} 行")

            report = import_roster(
                session=session,
                policy_year=policy_year,
                data=stream,
                importer_scope_path=scope,
                chunk_size=chunk_size,
                on_progress=advance,
                commit_each_chunk=True,
            )
            finished = report.total_rows if is_xlsx else size
            progress.update(bar, completed=finished, total=finished)
    typer.echo(
        f"rows: {report.total_rows}, imported: {report.imported}, rejected: {len({e.row for e in report.errors})}"
    )
    if report.errors:
        out = path.with_suffix(".errors.csv")
        out.write_bytes(error_report_csv(report.errors))
        typer.echo(f"error report: {out}")


@admin.command("renew")
def renew_command(unit: str, programme: str, from_year: int, to_year: int) -> None:
    """Carry a unit's active members of FROM_YEAR over to TO_YEAR (as registered renewals), once."""
    from rich.console import Console

    from core.db import session_scope
    from tasks.common.orgs import get_by_code
    from tasks.common.programmes import get_policy_year
    from tasks.registration.enrolment import renew_unit

    with domain_errors(), session_scope() as session, Console(stderr=True).status(f"续保 {unit} …"):
        org = get_by_code(session=session, code=unit)
        source = get_policy_year(session=session, programme_code=programme, year=from_year)
        target = get_policy_year(session=session, programme_code=programme, year=to_year)
        carried = renew_unit(session=session, from_year=source, to_year=target, unit=org)
    typer.echo(f"carried over: {carried} ({unit} {programme} {from_year} → {to_year})")


@admin.command("due-for-renewal")
def due_for_renewal_command(unit: str, programme: str, year: int) -> None:
    """List a unit's members due for renewal after YEAR (ID numbers masked)."""
    from rich.console import Console
    from rich.table import Table

    from core.db import get_engine, reading, session_scope
    from tasks.common.labels import label
    from tasks.common.masking import mask_id_number
    from tasks.common.orgs import get_by_code
    from tasks.common.programmes import get_policy_year
    from tasks.registration.enrolment import due_for_renewal

    with domain_errors(), session_scope(reading(get_engine())) as session:
        org = get_by_code(session=session, code=unit)
        assert org.id is not None
        policy_year = get_policy_year(session=session, programme_code=programme, year=year)
        due = due_for_renewal(session=session, policy_year=policy_year, unit_id=org.id)
    table = Table(title=f"{org.name}（{unit}）{programme} {year} 待续保人员：{len(due)} 人")
    for column in ("姓名", "身份证号", "在职状态"):
        table.add_column(column)
    for member in due:
        table.add_row(
            member.name, mask_id_number(member.id_number), label("employment_status", member.employment_status)
        )
    Console().print(table)


@admin.command("receipt")
def receipt_command(
    programme: str,
    year: int,
    source: Annotated[str, typer.Option(help="contribution, union_subsidy, donation or government")],
    payer: Annotated[str, typer.Option(help="付款方")],
    amount: Annotated[str, typer.Option(help="金额（元），如 1234.56")],
    received_on: DateOption,
    reference: Annotated[str, typer.Option(help="收款凭证号（本年度唯一）")],
    unit: Annotated[str | None, typer.Option(help="付款单位编码（单位缴费时）")] = None,
) -> None:
    """Record a receipt into the programme year's fund."""
    from core.db import session_scope
    from models.base import format_yuan
    from models.funds import FundSource
    from tasks.common.orgs import get_by_code
    from tasks.common.programmes import get_policy_year
    from tasks.funds.ledger import parse_yuan, record_receipt

    if source not in {s.value for s in FundSource}:
        raise typer.BadParameter(f"unknown source {source!r}; use one of {', '.join(s.value for s in FundSource)}")
    with domain_errors(), session_scope() as session:
        policy_year = get_policy_year(session=session, programme_code=programme, year=year)
        payer_unit = get_by_code(session=session, code=unit) if unit else None
        receipt = record_receipt(
            session=session, policy_year=policy_year, source=FundSource(source), payer=payer,
            amount_fen=parse_yuan(amount), received_on=received_on.date(), reference=reference,
            payer_org_id=payer_unit.id if payer_unit else None,
        )  # fmt: skip
    typer.echo(
        f"recorded receipt {receipt.reference}: {format_yuan(receipt.amount_fen)} 元 ({source}, id {receipt.id})"
    )


@admin.command("unit-payment")
def unit_payment_command(
    programme: str,
    year: int,
    unit: str,
    received_on: DateOption,
    reference: Annotated[str, typer.Option(help="收款凭证号（本年度唯一）")],
    member_id: Annotated[list[int] | None, typer.Option(help="pay only for these members (repeatable)")] = None,
) -> None:
    """Record a unit's contribution for its eligible members (or the listed ones) and activate their cover."""
    from core.db import session_scope
    from models.base import format_yuan
    from models.states import Actor
    from tasks.common.orgs import get_by_code
    from tasks.common.programmes import get_policy_year
    from tasks.funds.ledger import collect_unit_contribution

    with domain_errors(), session_scope() as session:
        policy_year = get_policy_year(session=session, programme_code=programme, year=year)
        collected = collect_unit_contribution(
            session=session, policy_year=policy_year, unit=get_by_code(session=session, code=unit),
            received_on=received_on.date(), reference=reference, member_ids=member_id or None,
            actor=Actor(None, "cli:unit-payment"),
        )  # fmt: skip
    typer.echo(f"activated: {collected.activated}, amount: {format_yuan(collected.amount_fen)} 元")
    if collected.refused:
        typer.echo(f"not activated (cover would start after the year ends): {len(collected.refused)}")


@admin.command("reconcile")
def reconcile_command(
    programme: str,
    year: int,
    csv: Annotated[Path | None, typer.Option("--csv", dir_okay=False, help="also write an Excel CSV here")] = None,
) -> None:
    """Print each unit's expected and received contributions, and the fund's balance."""
    from rich.console import Console

    from core.db import get_engine, reading, session_scope
    from models.base import format_yuan
    from tasks.common.programmes import get_policy_year
    from tasks.funds.ledger import fund_balance, reconcile_units, reconciliation_csv

    with domain_errors(), session_scope(reading(get_engine())) as session:
        policy_year = get_policy_year(session=session, programme_code=programme, year=year)
        assert policy_year.id is not None
        rows = reconcile_units(session=session, policy_year=policy_year)
        figures = fund_balance(session=session, policy_year_id=policy_year.id)
    console = Console()
    console.print(_reconciliation_table(f"{programme} {year} 单位缴费对账", rows))
    console.print(
        f"收入 {format_yuan(figures.receipts_fen)} 元，支出 {format_yuan(figures.payouts_fen)} 元，"
        f"余额 {format_yuan(figures.balance_fen)} 元"
    )
    if csv is not None:
        csv.write_bytes(reconciliation_csv(rows))
        console.print(f"CSV: {csv}")


def _reconciliation_table(title: str, rows: list[Any]) -> Any:
    """The reconciliation as a rich table with a total line."""
    from rich.table import Table

    from models.base import format_yuan

    table = Table(title=title, show_footer=True)
    money: Callable[[int], str] = format_yuan
    totals = [sum(getattr(r, f) for r in rows) for f in ("expected_fen", "received_fen", "difference_fen")]
    counts = [sum(getattr(r, f) for r in rows) for f in ("members_enrolled", "members_activated")]
    table.add_column("单位编码", footer="合计")
    table.add_column("单位名称")
    for header, total in zip(("应缴(元)", "实缴(元)", "差额(元)"), totals, strict=True):
        table.add_column(header, justify="right", footer=money(total))
    for header, count in zip(("登记人数", "已缴费人数"), counts, strict=True):
        table.add_column(header, justify="right", footer=str(count))
    for r in rows:
        table.add_row(
            r.unit_code, r.unit_name, money(r.expected_fen), money(r.received_fen), money(r.difference_fen),
            str(r.members_enrolled), str(r.members_activated),
        )  # fmt: skip
    return table
