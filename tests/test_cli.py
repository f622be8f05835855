"""The administrators' CLI on a real database: build a union tree, a programme year, a user, a roster."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select
from typer.testing import CliRunner

from models.enrolments import Enrolment
from models.org import OrgUnit
from models.programmes import PolicyYear
from models.users import User
from mutualaid.cli import app
from mutualaid.settings import Settings
from tests.factories import id_number

runner = CliRunner()


def invoke(*args: str, input: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == 0, result.output
    return result.output


def test_an_administrator_sets_up_a_programme_year_from_the_command_line(
    app_settings: Settings, session: Session, tmp_path: Path
) -> None:
    invoke("admin", "add-org", "SZ", "示范市总工会", "--level", "city")
    invoke("admin", "add-org", "SZ01", "历下区总工会", "--level", "county", "--parent", "SZ")
    invoke("admin", "add-org", "SZ01001", "第一企业工会", "--level", "grassroots", "--parent", "SZ01")
    invoke("admin", "add-programme", "MA", "职工医疗互助保障", "--owner", "SZ")
    rules = tmp_path / "rules.json"
    rules.write_text('{"contribution_fen": 12000, "annual_cap_fen": 3000000}', encoding="utf-8")
    invoke("admin", "open-year", "MA", "2027", "--rules", str(rules))
    invoke("admin", "create-user", "officer1", "unit_officer", "--org", "SZ01001", input="s3cret-pass\ns3cret-pass\n")
    roster = tmp_path / "roster.csv"
    roster.write_text(
        f"姓名,身份证号,在职状态,单位编码\n张三,{id_number(1)},在职,SZ01001\n李四,12345,在职,SZ01001\n",
        encoding="utf-8",
    )
    output = invoke("admin", "import-roster", str(roster), "MA", "2027")

    assert "imported: 1" in output and "rejected: 1" in output
    assert (tmp_path / "roster.errors.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    session.expire_all()
    unit = session.exec(select(OrgUnit).where(OrgUnit.code == "SZ01001")).one()
    assert unit.path.count("/") == 4
    year = session.exec(select(PolicyYear)).one()
    assert year.policy().contribution_fen == 12000 and year.policy().waiting_days == 90
    assert session.exec(select(User).where(User.username == "officer1")).one().org_unit_id == unit.id
    assert len(session.exec(select(Enrolment)).all()) == 1


def test_bad_rules_are_refused_with_a_reason(app_settings: Settings, tmp_path: Path) -> None:
    invoke("admin", "add-org", "SZ", "示范市总工会", "--level", "city")
    invoke("admin", "add-programme", "MA", "职工医疗互助保障", "--owner", "SZ")
    rules = tmp_path / "rules.json"
    rules.write_text('{"age_min": 80, "age_max": 20}', encoding="utf-8")
    result = runner.invoke(app, ["admin", "open-year", "MA", "2027", "--rules", str(rules)])
    assert result.exit_code != 0
    assert "age_min" in str(result.exception)
