"""Benefit rules per policy year (show, replace, change, versions) and quotes (测算) from the command line.

Rules files are JSON in the shape of models.rules.PolicyRules (see config/rules/). Every change is
validated in full and kept as a new version; a quote files nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mutualaid.cli_common import domain_errors

if TYPE_CHECKING:
    from api.schemas_rules import QuotePublic
    from models.claims import ClaimInput

rules = typer.Typer(help="The benefit rules of a policy year: show, replace, change, versions.", no_args_is_help=True)
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="PATH=VALUE, e.g. benefits.hospitalisation.ratio=0.75 (repeatable)"),
]


def parse_settings(settings: list[str]) -> dict[str, Any]:
    """`a.b.c=value` pairs as nested changes; a value is read as JSON when it parses, else as text."""
    changes: dict[str, Any] = {}
    for item in settings:
        path, sep, raw = item.partition("=")
        if not sep or not path.strip():
            raise typer.BadParameter(f"expected PATH=VALUE, got {item!r}")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        if isinstance(value, float):  # money and ratios stay exact: keep the text as written
            value = raw
        node = changes
        keys = path.strip().split(".")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise typer.BadParameter(f"{path}: {key} is set to a value and cannot also hold keys")
        node[keys[-1]] = value
    return changes


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@rules.command("show")
def show(programme: str, year: int, version: Annotated[int | None, typer.Option(help="a kept version")] = None) -> None:
    """Print the year's current rules (or a kept version) as JSON."""
    from core.db import session_scope
    from tasks.common.programmes import get_policy_year, rules_versions

    with domain_errors(), session_scope() as session:
        policy_year = get_policy_year(session=session, programme_code=programme, year=year)
        if version is None:
            typer.echo(f"# {programme} {year} 规则版本 {policy_year.rules_version}", err=True)
            _echo_json(policy_year.policy().model_dump(mode="json"))
            return
        found = [v for v in rules_versions(session=session, policy_year=policy_year) if v.version == version]
        if not found:
            typer.secho(f"错误：规则版本 {version} 不存在", err=True, fg=typer.colors.RED)
            raise typer.Exit(1)
        _echo_json(found[0].rules)


@rules.command("versions")
def versions(programme: str, year: int) -> None:
    """List the kept versions of the year's rules."""
    from core.db import session_scope
    from tasks.common.programmes import get_policy_year, rules_versions

    with domain_errors(), session_scope() as session:
        policy_year = get_policy_year(session=session, programme_code=programme, year=year)
        for v in rules_versions(session=session, policy_year=policy_year):
            current = " *" if v.version == policy_year.rules_version else ""
            typer.echo(f"v{v.version}{current}\t{v.created_at:%Y-%m-%d %H:%M}\t{v.created_by}\t{v.note}")


@rules.command("set")
def set_rules(
    programme: str,
    year: int,
    file: Annotated[Path | None, typer.Option("--file", help="a whole rules file (JSON)")] = None,
    settings: SetOption = None,
    note: Annotated[str, typer.Option(help="why the rules change")] = "",
) -> None:
    """Replace the year's rules with a file, or change some of them with --set; kept as a new version."""
    from core.db import session_scope
    from models.states import Actor
    from tasks.common.programmes import change_rules, get_policy_year, merged_rules, validated_rules

    if (file is None) == (not settings):
        raise typer.BadParameter("give either --file or at least one --set")
    with domain_errors(), session_scope() as session:
        policy_year = get_policy_year(session=session, programme_code=programme, year=year)
        if file is not None:
            new = validated_rules(json.loads(file.read_text(encoding="utf-8")))
        else:
            new = merged_rules(policy_year.policy(), parse_settings(settings or []))
        record = change_rules(session=session, policy_year=policy_year, rules=new, actor=Actor(None, "cli"), note=note)
        typer.echo(f"{programme} {year}: 规则已更新为版本 {record.version}")


def read_quote_file(file: Path) -> tuple[ClaimInput, str | None]:
    """The claim data of a quote file and the member's ID number it names (if any); exit code 1 when invalid."""
    from pydantic import ValidationError

    from models.claims import ClaimInput

    data = json.loads(file.read_text(encoding="utf-8"))
    id_number = data.pop("id_number", None)
    try:
        return ClaimInput.model_validate(data), str(id_number) if id_number else None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        typer.secho(f"错误：申请数据无效：{problems}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None


def quote_command(
    programme: str,
    file: Annotated[Path, typer.Option("--file", help="claim data (JSON); may name the member by id_number")],
    as_json: Annotated[bool, typer.Option("--json", help="print the quote as JSON")] = False,
    language: Annotated[str, typer.Option(help="zh-CN or en")] = "zh-CN",
) -> None:
    """Price a claim under the year's rules without filing it (the member's cap if the file names them)."""
    from sqlmodel import select

    from api.presenters.rules import quote_public
    from core.db import session_scope
    from models.errors import NotFound
    from models.programmes import Programme
    from tasks.claims.quote import quote
    from tasks.common.access import quoted_member

    claim, id_number = read_quote_file(file)
    with domain_errors(), session_scope() as session:
        found = session.exec(select(Programme).where(Programme.code == programme)).first()
        if found is None:
            raise NotFound(f"未找到项目 {programme}")
        member = quoted_member(session=session, user=None, id_number=id_number)  # the system: any member
        result = quote_public(programme, quote(session=session, programme_id=found.id or 0, data=claim, member=member),
                              language)  # fmt: skip
        session.rollback()  # a quote files nothing
    if as_json:
        _echo_json(result.model_dump(mode="json"))
        return
    _print_quote(result)


def _print_quote(result: QuotePublic) -> None:
    for step in result.steps:
        typer.echo(f"- {step.text}")
    verdict = f"不予补偿：{result.rejection}" if result.rejection else f"测算补偿金额：{result.payout_yuan} 元"
    typer.echo(
        f"{result.benefit_type_label}｜{verdict}｜需经 {result.required_levels} 级审批｜规则版本 {result.rules_version}"
    )
