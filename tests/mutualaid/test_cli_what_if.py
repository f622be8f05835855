"""`mutualaid what-if`: the zh-CN table, --json, --set parsing over a changes file, and bad changes."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from sqlmodel import Session
from typer.testing import CliRunner

from core.settings import Settings
from models.funds import FundSource
from mutualaid.cli import app
from mutualaid.cli_what_if import parse_value, read_changes
from tasks.claims.what_if import simulate
from tasks.funds.ledger import record_receipt
from tests.api.conftest import ClaimMaker, insert_claim
from tests.factories import World, build_world

runner = CliRunner()
SETS = ["--set", "benefits.hospitalisation.ratio=0.75", "--set", "annual_cap_fen=3000000"]


@pytest.fixture
def world(app_settings: Settings, session: Session, monkeypatch: pytest.MonkeyPatch) -> World:
    return build_world(session)


@pytest.fixture
def make_claim(session: Session, world: World) -> ClaimMaker:
    counter = iter(range(1, 1000))

    def make(**kwargs: object) -> object:
        return insert_claim(session, world, n=next(counter), **kwargs)  # type: ignore[arg-type]

    return make  # type: ignore[return-value]


@pytest.fixture
def claims(session: Session, world: World, make_claim: ClaimMaker) -> None:
    for payout in (350_000, 600_000, 120_000):  # calculated at 3,500, 6,000, 1,200; eligible twice that
        make_claim(payout_fen=payout)
    record_receipt(
        session=session, policy_year=world.policy_year, source=FundSource.CONTRIBUTION, payer="第1区第1单位工会",
        amount_fen=950_000, received_on=date(2026, 1, 5), reference="JF-1",
    )  # fmt: skip
    session.commit()


def test_the_table_shows_actual_beside_projected(world: World, claims: None) -> None:
    result = runner.invoke(app, ["what-if", "MA", "2026", *SETS])

    assert result.exit_code == 0, result.output
    out = result.output
    assert "MA 2026 年度补偿测算" in out and "规则第 1 版" in out
    assert "benefits.hospitalisation.ratio" in out and '"0.70" → "0.75"' in out
    assert "annual_cap_fen" in out and "2000000 → 3000000" in out
    for row in (
        "获准补偿（件）",
        "补偿总额（元）",
        "住院二次报销（元）",
        "赔付率",
        "基金结余（元）",
        "达到年度封顶（人）",
    ):
        assert row in out
    # eligible 7,000 / 12,000 / 2,400 at 75 %: 5,250 + 9,000 + 1,800 = 16,050 against 10,700 calculated
    assert "10,700.00" in out and "16,050.00" in out and "+5,350.00" in out
    assert "补偿增加 3 件，减少 0 件，不变 0 件" in out
    # granted as if paid: 10,700 / 9,500 contributions = 112.63 %, 16,050 / 9,500 = 168.95 %
    assert "112.63%" in out and "168.95%" in out and "+56.32%" in out
    assert "已发放 0.00 元" in out
    assert "基金收入合计 9,500.00 元" in out


def test_json_is_the_report(world: World, claims: None, session: Session) -> None:
    result = runner.invoke(app, ["what-if", "MA", "2026", *SETS, "--json"])

    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    changes = {"benefits": {"hospitalisation": {"ratio": Decimal("0.75")}}, "annual_cap_fen": 3000000}
    expected = simulate(session=session, policy_year=world.policy_year, changes=changes)
    assert body == expected.model_dump(mode="json")
    assert body["changes"] == {"benefits": {"hospitalisation": {"ratio": "0.75"}}, "annual_cap_fen": 3000000}


def test_sets_are_laid_over_the_changes_file(world: World, claims: None, tmp_path: Path) -> None:
    path = tmp_path / "changes.json"
    path.write_text('{"annual_cap_fen": 1000000, "benefits": {"hospitalisation": {"ratio": 0.8}}}', encoding="utf-8")
    result = runner.invoke(
        app, ["what-if", "MA", "2026", "--changes-file", str(path), "--set", "annual_cap_fen=2500000", "--json"]
    )

    assert result.exit_code == 0, result.output
    changed = {c["path"]: c["after"] for c in json.loads(result.output)["rules_changed"]}
    assert changed == {"annual_cap_fen": 2500000, "benefits.hospitalisation.ratio": "0.8"}


def test_no_changes_recalculates_under_the_current_rules(world: World, make_claim: ClaimMaker) -> None:
    make_claim(payout_fen=350_000)
    result = runner.invoke(app, ["what-if", "MA", "2026"])
    assert result.exit_code == 0, result.output
    assert "未调整规则" in result.output
    assert "赔付率" in result.output and "—" in result.output  # no contributions: no ratio to show


def test_a_bad_change_ends_with_the_reason(world: World) -> None:
    result = runner.invoke(app, ["what-if", "MA", "2026", "--set", "benefits.hospitalisation.ratio=2"])
    assert result.exit_code == 1
    assert "规则配置无效" in result.output and "ratio" in result.output


def test_an_unknown_year_ends_with_the_reason(world: World) -> None:
    result = runner.invoke(app, ["what-if", "MA", "2031"])
    assert result.exit_code == 1
    assert "未找到项目 MA 的 2031 年度" in result.output


@pytest.mark.parametrize("assignment", ["annual_cap_fen", "=5", "benefits..ratio=1", "annual_cap_fen.x=1"])
def test_a_malformed_set_is_a_usage_error(world: World, assignment: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["what-if", "MA", "2026", "--set", "annual_cap_fen=5", "--set", assignment])
    assert result.exit_code == 2
    assert "--set" in result.output


def test_a_changes_file_must_be_an_object(world: World, tmp_path: Path) -> None:
    path = tmp_path / "changes.json"
    path.write_text("[1, 2]", encoding="utf-8")
    result = runner.invoke(app, ["what-if", "MA", "2026", "--changes-file", str(path)])
    assert result.exit_code == 2 and "JSON 对象" in result.output


def test_values_are_json_when_they_parse() -> None:
    assert parse_value("0.75") == Decimal("0.75")
    assert parse_value("3000000") == 3000000
    assert parse_value("null") is None
    assert parse_value('["C", "I21"]') == ["C", "I21"]
    assert parse_value("tier3") == "tier3"
    assert parse_value('"12351"') == "12351"
    assert read_changes(None, ["a.b=1", "a.c=x"]) == {"a": {"b": 1, "c": "x"}}
    with pytest.raises(typer.BadParameter):
        read_changes(None, ["a=1", "a.b=2"])


def test_a_benefit_added_on_the_command_line_gets_its_rows(world: World, claims: None) -> None:
    dental = '{"kind": "requested", "label_zh": "牙科补助", "max_fen": 100000}'
    result = runner.invoke(app, ["what-if", "MA", "2026", "--set", f"benefits.dental={dental}"])
    assert result.exit_code == 0, result.output
    assert "牙科补助（件）" in result.output and "benefits.dental" in result.output
