"""Administrators' fund commands (under `mutualaid admin`): receipts, unit payments, reconciliation.

Imports of the application happen inside the commands, so `mutualaid --help` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from mutualaid.cli_common import domain_errors

DateOption = Annotated[datetime, typer.Option("--date", formats=["%Y-%m-%d"], help="收款日期 YYYY-MM-DD")]


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
    from tasks.funds.contributions import collect_unit_contribution

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
    from tasks.funds.ledger import fund_balance
    from tasks.funds.reconciliation import reconcile_units, reconciliation_csv

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
