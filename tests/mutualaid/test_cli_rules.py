"""Rules and quotes from the command line, on a real database."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from core.settings import PROJECT_ROOT, Settings
from models.programmes import PolicyYear
from mutualaid.cli import app
from mutualaid.cli_rules import parse_settings
from tests.api.conftest import enrol
from tests.factories import World, build_world, id_number

runner = CliRunner()
CONFIG = PROJECT_ROOT / "config" / "rules"


@pytest.fixture
def world(app_settings: Settings, session: Session, monkeypatch: pytest.MonkeyPatch) -> World:
    return build_world(session)


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return result.stdout if code == 0 else result.output


def test_settings_are_parsed_into_nested_changes() -> None:
    assert parse_settings(["benefits.hospitalisation.ratio=0.75", "annual_cap_fen=3000000", "hotline=12351"]) == {
        "benefits": {"hospitalisation": {"ratio": "0.75"}},
        "annual_cap_fen": 3000000,
        "hotline": 12351,
    }
    assert parse_settings(["annual_cap_fen=null", 'holidays=["2026-10-01"]']) == {
        "annual_cap_fen": None,
        "holidays": ["2026-10-01"],
    }


def test_change_show_and_list_versions(world: World, session: Session) -> None:
    out = run("rules", "set", "MA", "2026", "--set", "benefits.hospitalisation.ratio=0.75", "--note", "试行")
    assert "版本 2" in out
    shown = json.loads(run("rules", "show", "MA", "2026"))
    assert shown["benefits"]["hospitalisation"]["ratio"] == "0.75"
    assert (
        json.loads(run("rules", "show", "MA", "2026", "--version", "1"))["benefits"]["hospitalisation"]["ratio"]
        == "0.70"
    )
    listing = run("rules", "versions", "MA", "2026")
    assert "v1" in listing and "v2 *" in listing and "试行" in listing
    bad = run("rules", "set", "MA", "2026", "--set", "benefits.hospitalisation.ratio=3", code=1)
    assert "ratio" in bad and "Traceback" not in bad
    year = session.get(PolicyYear, world.policy_year.id, populate_existing=True)
    assert year is not None and year.rules_version == 2


def test_a_whole_rules_file_replaces_the_rules(world: World, tmp_path: Path) -> None:
    out = run("rules", "set", "MA", "2026", "--file", str(CONFIG / "temporary_assistance.json"))
    assert "版本 2" in out
    assert set(json.loads(run("rules", "show", "MA", "2026"))["benefits"]) >= {"living", "education"}


def test_a_quote_from_a_file_names_the_member_without_the_command_line(
    world: World, session: Session, tmp_path: Path
) -> None:
    enrol(session, world, range(1, 2), paid_on=date(2025, 12, 20))
    claim = {
        "id_number": id_number(1),
        "benefit_type": "hospitalisation",
        "admission_date": "2026-05-01",
        "discharge_date": "2026-05-10",
        "hospital_name": "市第一人民医院",
        "hospital_tier": "tier3",
        "total_cost": "10000.00",
        "basic_insurance": "6000.00",
        "self_paid": "500.00",
    }
    path = tmp_path / "claim.json"
    path.write_text(json.dumps(claim, ensure_ascii=False), encoding="utf-8")
    out = run("quote", "MA", "--file", str(path))
    assert "2,450.00" in out and "需经 2 级审批" in out
    data = json.loads(run("quote", "MA", "--file", str(path), "--json"))
    assert data["member_known"] is True and data["payout_fen"] == 245000
    assert id_number(1) not in out
    path.write_text(json.dumps(claim | {"total_cost": "-5"}), encoding="utf-8")
    assert "total_cost" in run("quote", "MA", "--file", str(path), code=1)
