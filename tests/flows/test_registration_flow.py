"""The registration flow with real Prefect: a roster streamed from the store in small chunks, its artifacts."""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from uuid import UUID

import pytest
from openpyxl import Workbook
from prefect.client.orchestration import get_client
from sqlalchemy import func
from sqlmodel import Session, select

from core import settings as settings_module
from core.settings import Settings
from core.storage.local import LocalObjectStore
from flows.registration import ERRORS_SHOWN, registration_flow
from models.enrolments import Enrolment
from models.members import Member
from tests.factories import World, build_world, id_number

HEADER = "姓名,身份证号,手机号,在职状态,单位编码,银行卡号,开户银行"
KEY = "rosters/2026/g11.csv"


@pytest.fixture
def small_chunks(app_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """This test's settings with three rows per chunk task run, so a dozen rows make several task runs."""
    monkeypatch.setenv("MUTUALAID_CHUNK_SIZE", "3")
    settings_module.get_settings.cache_clear()
    return settings_module.get_settings()


def line(n: int, unit: str = "G11") -> str:
    """A valid roster line for the n-th test ID number."""
    return f"会员{chr(0x4E00 + n)},{id_number(n)},1380000{n:04d},在职,{unit},62220200000{n:08d},工商银行"


def roster(lines: list[str]) -> bytes:
    """A GBK roster, as Chinese Excel saves a CSV."""
    return "\r\n".join([HEADER, *lines, ""]).encode("gbk")


def artifacts_of(flow_run_id: UUID) -> dict[str, Any]:
    """The flow run's table artifacts by key (data decoded), and the parameters the run recorded."""
    with get_client(sync_client=True) as client:
        # Posted by hand: the client's read_artifacts sends explicit nulls that this server's FastAPI refuses.
        response = client.request(
            "POST", "/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [str(flow_run_id)]}}}
        )
        run = client.read_flow_run(flow_run_id)
    tables = {a["key"]: json.loads(a["data"]) for a in response.json() if a["type"] == "table"}
    return {"tables": tables, "parameters": run.parameters}


def count(session: Session, model: type) -> int:
    """How many rows model has; ends the read so the flow's task runs can write (SQLite)."""
    number = session.exec(select(func.count()).select_from(model)).one()
    session.commit()
    return number


def run(world: World, key: str = KEY) -> tuple[dict[str, Any], UUID]:
    """Run the flow for the world's programme year; its figures and flow run id."""
    state = registration_flow(world.programme.code, 2026, key, return_state=True)
    flow_run_id = state.state_details.flow_run_id
    assert flow_run_id is not None
    return state.result(), flow_run_id


def test_streams_chunks_reports_errors_and_imports_nothing_twice(
    small_chunks: Settings, session: Session, store: LocalObjectStore
) -> None:
    world = build_world(session)
    lines = [line(n) for n in range(1, 13)]  # rows 2-13, four chunks of three
    lines[2] = "坏行,123,,在职,G11,,"  # row 4: bad ID (chunk 1)
    lines[5] = line(99, "G99")  # row 7: unknown unit (chunk 2, refused by its task run)
    lines[8] = line(1)  # row 10: same person as row 2 (chunk 3)
    store.put(KEY, roster(lines), media_type="text/csv")

    figures, flow_run_id = run(world)

    assert figures == {
        "total_rows": 12,
        "imported": 9,
        "rejected_rows": 3,
        "row_errors": 3,
        "error_report": f"{KEY}.errors.csv",
    }
    assert (count(session, Member), count(session, Enrolment)) == (9, 9)
    report = list(csv.reader(io.StringIO(store.get(figures["error_report"]).decode("utf-8-sig"))))
    assert [(r[0], r[1], r[3]) for r in report[1:]] == [
        ("4", "身份证号", "身份证号应为18位"),
        ("7", "单位", "单位编码“G99”不存在"),
        ("10", "身份证号", "与第2行身份证号重复"),
    ]
    found = artifacts_of(flow_run_id)
    assert found["parameters"] == {"programme_code": "MA", "year": 2026, "roster_key": KEY, "scope_path": None}
    errors = found["tables"]["registration-errors"]
    assert errors == [
        {"行号": 4, "列": "身份证号", "原因": "身份证号应为18位"},
        {"行号": 7, "列": "单位", "原因": "单位编码“G99”不存在"},
        {"行号": 10, "列": "身份证号", "原因": "与第2行身份证号重复"},
    ]
    figures_table = {r["指标"]: r["数值"] for r in found["tables"]["registration"]}
    assert figures_table["imported"] == 9 and figures_table["total_rows"] == 12
    assert id_number(1) not in json.dumps(found, ensure_ascii=False)

    again, _ = run(world)  # a second run (say, after a crash half-way) creates nothing twice
    assert (again["imported"], again["rejected_rows"]) == (0, 12)
    assert (count(session, Member), count(session, Enrolment)) == (9, 9)


def test_xlsx_roster_and_only_the_first_errors_in_the_artifact(
    small_chunks: Settings, session: Session, store: LocalObjectStore
) -> None:
    world = build_world(session)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("名册")
    sheet.append(HEADER.split(","))
    sheet.append([f"会员{chr(0x4E00 + 1)}", id_number(1), 13800000001, "在职", "G11", None, None])  # phone as number
    bad = ERRORS_SHOWN + 5
    for n in range(bad):
        sheet.append(["坏行", f"BAD{n}", None, "在职", "G11", None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    store.put("rosters/2026/g11.xlsx", buffer.getvalue(), media_type="application/octet-stream")

    figures, flow_run_id = run(world, "rosters/2026/g11.xlsx")

    assert (figures["total_rows"], figures["imported"], figures["rejected_rows"]) == (bad + 1, 1, bad)
    member = session.exec(select(Member)).one()
    assert member.phone == "13800000001"
    errors = artifacts_of(flow_run_id)["tables"]["registration-errors"]
    assert len(errors) == ERRORS_SHOWN
    assert [e["行号"] for e in errors] == list(range(3, 3 + ERRORS_SHOWN))
    report = store.get(figures["error_report"]).decode("utf-8-sig").splitlines()
    assert len(report) == 1 + bad


def test_a_file_that_is_no_roster_fails_the_flow(
    small_chunks: Settings, session: Session, store: LocalObjectStore
) -> None:
    world = build_world(session)
    store.put("rosters/2026/old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, media_type="application/x")
    state = registration_flow(world.programme.code, 2026, "rosters/2026/old.xls", return_state=True)
    assert state.is_failed()
    with pytest.raises(Exception, match=r"不支持旧版 \.xls"):
        state.result()
    assert count(session, Member) == 0
