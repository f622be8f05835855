"""The administrators' CLI on a real database: set-up, roster import (CSV, .xlsx), renewal, fund collection."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func
from sqlmodel import Session, select
from typer.testing import CliRunner, Result

from core.settings import Settings
from models.enrolments import Enrolment
from models.members import Member
from models.org import OrgUnit
from models.programmes import PolicyYear
from models.users import User
from mutualaid.cli import app
from tasks.common.masking import mask_id_number
from tasks.common.programmes import open_policy_year
from tests.api.conftest import enrol
from tests.factories import World, build_world, id_number

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
    assert result.exit_code == 1
    assert "age_min" in result.output and "Traceback" not in result.output


# --- renewal and fund collection ------------------------------------------------------------------------------


@pytest.fixture
def world(app_settings: Settings, session: Session, monkeypatch: pytest.MonkeyPatch) -> World:
    """The standard test world (users' passwords hashed once for the run)."""
    return build_world(session)


def wide(*args: str, code: int = 0) -> Result:
    """Invoke with a wide terminal, so rich tables are not cut; check the exit code."""
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return result


def xlsx_roster(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "身份证号", "在职状态", "单位编码"])
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_import_roster_reads_xlsx_with_a_progress_bar(world: World, session: Session, tmp_path: Path) -> None:
    rows: list[list[object]] = [[f"会员{chr(0x4E00 + n)}", id_number(n), "在职", "G11"] for n in range(1, 251)]
    rows += [["外单位", id_number(300), "在职", "G21"], ["坏号", "110105198005170000", "在职", "G11"]]
    path = xlsx_roster(tmp_path / "名册.xlsx", rows)

    output = wide("admin", "import-roster", str(path), "MA", "2026", "--unit", "G11", "--chunk-size", "100").output

    assert "rows: 252, imported: 250, rejected: 2" in output
    assert "导入 名册.xlsx" in output and "252 行" in output
    report = (tmp_path / "名册.errors.csv").read_bytes().decode("utf-8-sig")
    assert "G21" in report and id_number(300) not in report and "110105198005170000" not in report
    assert session.exec(select(func.count()).select_from(Enrolment)).one() == 250


def test_import_roster_of_a_csv_commits_each_chunk(world: World, session: Session, tmp_path: Path) -> None:
    lines = [f"会员{chr(0x4E00 + n)},{id_number(n)},在职,G11" for n in range(1, 121)]
    path = tmp_path / "roster.csv"
    path.write_text("\n".join(["姓名,身份证号,在职状态,单位编码", *lines]) + "\n", encoding="gbk")

    output = wide("admin", "import-roster", str(path), "MA", "2026", "--chunk-size", "100").output

    assert "rows: 120, imported: 120, rejected: 0" in output and "导入 roster.csv" in output
    assert not (tmp_path / "roster.errors.csv").exists()
    again = wide("admin", "import-roster", str(path), "MA", "2026").output
    assert "imported: 0, rejected: 120" in again
    assert session.exec(select(func.count()).select_from(Enrolment)).one() == 120


def test_import_roster_refuses_a_file_that_is_no_roster(world: World, tmp_path: Path) -> None:
    path = tmp_path / "photo.csv"
    path.write_bytes(b"%PDF-1.7 binary")
    result = wide("admin", "import-roster", str(path), "MA", "2026", code=1)
    assert "错误：" in result.output
    assert "错误：" in wide("admin", "import-roster", str(path), "MA", "2031", code=1).output


def test_renew_and_due_for_renewal(world: World, session: Session) -> None:
    enrol(session, world, range(1, 4), unit=0, paid_on=date(2025, 12, 1))
    open_policy_year(session=session, programme=world.programme, year=2027)
    session.commit()

    due = wide("admin", "due-for-renewal", "G11", "MA", "2026").output
    assert "待续保人员：3 人" in due
    for n in range(1, 4):
        assert mask_id_number(id_number(n)) in due and id_number(n) not in due
    assert "退休" in due and "在职" in due

    assert "carried over: 3" in wide("admin", "renew", "G11", "MA", "2026", "2027").output
    assert "carried over: 0" in wide("admin", "renew", "G11", "MA", "2026", "2027").output
    assert "待续保人员：0 人" in wide("admin", "due-for-renewal", "G11", "MA", "2026").output
    assert "错误：" in wide("admin", "renew", "G11", "MA", "2027", "2026", code=1).output
    assert "错误：未找到单位 NOPE" in wide("admin", "renew", "NOPE", "MA", "2026", "2027", code=1).output
    assert "错误：" in wide("admin", "due-for-renewal", "G11", "MA", "2031", code=1).output


def test_receipts_unit_payments_and_reconciliation(world: World, session: Session, tmp_path: Path) -> None:
    enrol(session, world, range(1, 4), unit=0)
    enrol(session, world, range(4, 6), unit=1)
    receipt = ["admin", "receipt", "MA", "2026", "--payer", "示范市总工会", "--date", "2026-01-10"]
    for source, amount, ref in (("union_subsidy", "30,000", "BZ-1"), ("donation", "0.01", "JZ-1")):
        out = wide(*receipt, "--source", source, "--amount", amount, "--reference", ref).output
        assert f"recorded receipt {ref}" in out
    wide(*receipt, "--source", "government", "--amount", "100", "--reference", "CZ-1")
    wide(*receipt, "--source", "contribution", "--amount", "95", "--reference", "JF-G22", "--unit", "G22")
    assert "错误：" in wide(*receipt, "--source", "donation", "--amount", "5", "--reference", "JZ-1", code=1).output
    assert "错误：金额" in wide(*receipt, "--source", "donation", "--amount", "0", "--reference", "X", code=1).output
    assert (
        "错误：金额" in wide(*receipt, "--source", "donation", "--amount", "1.005", "--reference", "X", code=1).output
    )
    wide(*receipt, "--source", "lottery", "--amount", "5", "--reference", "X", code=2)
    wide(*receipt[:-1], "2026-13-01", "--source", "donation", "--amount", "5", "--reference", "X", code=2)

    paid = wide("admin", "unit-payment", "MA", "2026", "G11", "--date", "2025-12-01", "--reference", "JF-G11")
    assert "activated: 3, amount: 285.00 元" in paid.output
    g12 = session.exec(select(Member.id).where(Member.id_number == id_number(4))).one()
    session.commit()
    partial = ["admin", "unit-payment", "MA", "2026", "G12", "--date", "2026-01-05", "--reference", "JF-G12"]
    assert "activated: 1, amount: 95.00 元" in wide(*partial, "--member-id", str(g12)).output
    nothing = wide("admin", "unit-payment", "MA", "2026", "G21", "--date", "2026-01-05", "--reference", "N", code=1)
    assert "错误：没有审核通过" in nothing.output

    csv_path = tmp_path / "对账.csv"
    table = wide("admin", "reconcile", "MA", "2026", "--csv", str(csv_path)).output
    assert "单位缴费对账" in table and "G11" in table and "G12" in table and "G22" in table and "合计" in table
    assert "收入 30,575.01 元，支出 0.00 元，余额 30,575.01 元" in table
    lines = csv_path.read_bytes().decode("utf-8-sig").splitlines()
    assert lines[0].startswith("单位编码,单位名称") and lines[-1] == "合计,,475.00,475.00,0.00,5,4"
    assert "错误：" in wide("admin", "reconcile", "MA", "2031", code=1).output
