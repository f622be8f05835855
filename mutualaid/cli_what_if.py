"""What-if: a policy year's claims re-run under changed rules, printed as actual vs projected.

    mutualaid what-if MA 2026 --set benefits.hospitalisation.ratio=0.75 --set annual_cap_fen=3000000
    mutualaid what-if MA 2026 --changes-file changes.json --json

A `--set` value is read as JSON when it parses (numbers with a fraction as exact decimals), else as text;
`--set`s are laid over the changes file. Bad changes end the command with the reason and exit code 1.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.table import Table

    from models.what_if import WhatIfReport

what_if = typer.Typer(
    help="Re-run a policy year's claims under changed rules.",
    no_args_is_help=True,
    subcommand_metavar="",
    context_settings={"allow_interspersed_args": True},  # options after PROGRAMME YEAR, as with a command
)


@what_if.callback(invoke_without_command=True)
def simulate_year(
    programme: Annotated[str, typer.Argument(help="the programme's code, e.g. MA")],
    year: Annotated[int, typer.Argument(help="the policy year, e.g. 2026")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="a rule change PATH=VALUE, e.g. benefits.hospitalisation.ratio=0.75 (repeatable)"),
    ] = None,
    changes_file: Annotated[Path | None, typer.Option(help="a JSON file of rule changes")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Actual vs projected payouts, claim ratio and fund balance of a year under changed rules."""
    from sqlmodel import Session

    from core.db import get_engine, reading_snapshot
    from mutualaid.cli_common import domain_errors
    from tasks.claims.what_if import simulate
    from tasks.common.programmes import get_policy_year

    changes = read_changes(changes_file, set_ or [])
    with domain_errors(), Session(reading_snapshot(get_engine())) as session:
        policy_year = get_policy_year(session=session, programme_code=programme, year=year)
        report = simulate(session=session, policy_year=policy_year, changes=changes)
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        print_report(report, programme)


def read_changes(path: Path | None, assignments: list[str]) -> dict[str, Any]:
    """The changes of the file (if any) with each PATH=VALUE laid over them."""
    changes: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
        except (OSError, ValueError) as exc:
            raise typer.BadParameter(f"无法读取调整文件 {path}：{exc}", param_hint="--changes-file") from None
        if not isinstance(loaded, dict):
            raise typer.BadParameter("调整文件须为 JSON 对象", param_hint="--changes-file")
        changes = loaded
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise typer.BadParameter(f"应为 路径=值，例如 annual_cap_fen=3000000：{assignment!r}", param_hint="--set")
        target = changes
        for part in parts[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise typer.BadParameter(f"{key}：{part} 不是对象", param_hint="--set")
        target[parts[-1]] = parse_value(text)
    return changes


def parse_value(text: str) -> Any:
    """JSON when the text parses as JSON (fractions as exact decimals), else the text itself."""
    try:
        return json.loads(text, parse_float=Decimal)
    except ValueError:
        return text


def print_report(report: WhatIfReport, programme: str) -> None:
    """The report as a zh-CN table: actual, projected and their difference."""
    from rich.console import Console

    console = Console(soft_wrap=True)
    console.print(f"{programme} {report.year} 年度补偿测算（在规则第 {report.rules_version} 版基础上调整）")
    for change in report.rules_changed:
        console.print(f"  调整：{change.path}  {_value(change.before)} → {_value(change.after)}", markup=False)
    if not report.rules_changed:
        console.print("  （未调整规则：按现行规则重算）")
    console.print(
        f"参与测算 {report.claims_considered} 件（其中审核中 {report.claims_in_review} 件）；"
        f"审批人已不予补偿、不参与测算 {report.claims_excluded_reviewer_rejected} 件；"
        f"因重复发票等规则以外原因仍不予补偿 {report.claims_kept_refused} 件"
    )
    if report.claims_under_earlier_rules:
        console.print(f"（其中 {report.claims_under_earlier_rules} 件的实际补偿按本年度早先版本的规则计算）")
    console.print(_table(report))
    console.print(
        f"补偿增加 {report.payouts_up} 件，减少 {report.payouts_down} 件，不变 {report.payouts_unchanged} 件。"
        f"会员缴费 {report.contributions_yuan} 元，基金收入合计 {report.receipts_yuan} 元。"
    )
    console.print(
        "注：两列均按全部获准案件已发放计算。基金账户现状：已发放 "
        f"{report.paid_to_date_yuan} 元，赔付率 {_percent(report.disclosed_claim_ratio)}，"
        f"结余 {report.disclosed_fund_balance_yuan} 元。"
    )


def _table(report: WhatIfReport) -> Table:
    """Actual, projected and difference, line by line: claims, payouts (and by benefit), ratio, balance, caps."""
    from rich.table import Table

    a, p, d = report.actual, report.projected, report.difference
    table = Table(show_lines=False)
    for title in ("项目", "实际", "模拟", "差额"):
        table.add_column(title, justify="left" if title == "项目" else "right")
    table.add_row("获准补偿（件）", str(a.claims_granted), str(p.claims_granted), _signed(d.claims_granted))
    table.add_row("不予补偿（件）", str(a.claims_refused), str(p.claims_refused),
                  _signed(p.claims_refused - a.claims_refused))  # fmt: skip
    table.add_row("补偿总额（元）", a.payouts_yuan, p.payouts_yuan, _signed_yuan(d.payouts_yuan))
    for now, then in zip(a.by_benefit, p.by_benefit, strict=True):
        table.add_row(f"  {then.label}（件）", str(now.claims), str(then.claims), _signed(then.claims - now.claims))
        table.add_row(f"  {then.label}（元）", now.payouts_yuan, then.payouts_yuan,
                      _signed_yuan(_yuan(then.payouts_fen - now.payouts_fen)))  # fmt: skip
    if report.contributions_fen:
        table.add_row("赔付率", _percent(a.claim_ratio), _percent(p.claim_ratio), _percent(d.claim_ratio, signed=True))
    else:
        table.add_row("赔付率", "—", "—", "—")  # no contributions received yet
    table.add_row("基金结余（元）", a.fund_balance_yuan, p.fund_balance_yuan, _signed_yuan(d.fund_balance_yuan))
    table.add_row("达到年度封顶（人）", str(a.members_at_cap), str(p.members_at_cap), _signed(d.members_at_cap))
    return table


def _value(value: Any) -> str:
    return "—" if value is None else json.dumps(value, ensure_ascii=False, default=str)


def _signed(n: int) -> str:
    return f"{n:+d}" if n else "0"


def _yuan(fen: int) -> str:
    from models.base import format_yuan

    return format_yuan(fen)


def _signed_yuan(yuan: str) -> str:
    return yuan if yuan.startswith("-") or yuan == "0.00" else f"+{yuan}"


def _percent(ratio: Decimal, *, signed: bool = False) -> str:
    value = (ratio * 100).quantize(Decimal("0.01"))
    return f"{value:+}%" if signed and value else f"{value}%"
