"""Roster import over HTTP: CSV or .xlsx, for one unit; administrators for any unit, unit officers for their own.

The error report is kept and downloadable by the uploader or an administrator only.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlmodel import Session, func, select

from core.storage.local import LocalObjectStore
from models.enrolments import Enrolment
from tests.api.conftest import login
from tests.factories import World, id_number

HEADER = "姓名,身份证号,手机号,在职状态,单位编码,银行卡号,开户银行\n"


def roster(*rows: str) -> bytes:
    """A UTF-8 roster CSV with the standard header."""
    return (HEADER + "".join(row + "\n" for row in rows)).encode()


def row(n: int, unit: str = "G11") -> str:
    """A valid roster line for the n-th test member of unit."""
    return f"会员{chr(0x4E00 + n)},{id_number(n)},1380000{n:04d},在职,{unit},62220200000{n:08d},工商银行"


def xlsx(*rows: list[Any]) -> bytes:
    """An .xlsx workbook with the standard header and rows, built with openpyxl."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER.strip().split(","))
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client: TestClient, username: str | None, data: bytes, filename: str = "roster.csv", **form: Any) -> Any:
    """POST a roster file as username (for unit G11 unless unit_code says otherwise)."""
    headers = login(client, username) if username else {}
    fields = {"programme_code": "MA", "year": "2026", "unit_code": "G11"} | {k: str(v) for k, v in form.items()}
    files = {"file": (filename, data, "application/octet-stream")}
    return client.post("/api/rosters", data=fields, files=files, headers=headers)


def enrolments(session: Session) -> int:
    """How many enrolments exist."""
    count = session.exec(select(func.count()).select_from(Enrolment)).one()
    session.commit()
    return count


def test_admin_imports_for_any_unit(client: TestClient, world: World, session: Session) -> None:
    response = upload(client, "admin", roster(row(1, "G21"), row(2, "G21"), "坏行,123,,在职,G21,,"), unit_code="G21")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["unit_code"], body["total_rows"], body["imported"], body["rejected_rows"]) == ("G21", 3, 2, 1)
    error = body["errors"][0]
    assert set(error) == {"row", "column", "value", "reason"} and error["row"] == 4
    assert body["error_report_url"] == f"/api/rosters/reports/{body['error_report_id']}"
    assert body["errors_truncated"] is False and body["error_count"] == len(body["errors"])
    assert enrolments(session) == 2


@pytest.mark.parametrize("username", ["l1_a", "admin"])
def test_rows_of_another_unit_than_unit_code_are_row_errors(
    client: TestClient, world: World, session: Session, username: str
) -> None:
    response = upload(client, username, roster(row(1, "G11"), row(2, "G21"), row(3, "G12")))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(3, "单位"), (4, "单位")]
    assert enrolments(session) == 1


@pytest.mark.parametrize("unit_code", ["G21", "G12", "X01", "C01"])
def test_unit_officer_importing_for_another_unit_is_403(
    client: TestClient, world: World, session: Session, unit_code: str
) -> None:
    response = upload(client, "l1_a", roster(row(1, unit_code)), unit_code=unit_code)
    assert response.status_code == 403
    assert response.json()["detail"] == "只能导入本单位名册"
    assert enrolments(session) == 0


def test_officer_403_comes_before_the_file_is_read(client: TestClient, world: World) -> None:
    response = upload(client, "l1_a", b"%PDF-1.7 not a roster at all", unit_code="G21")
    assert response.status_code == 403


def test_unknown_unit_is_404_and_a_county_is_422(client: TestClient, world: World) -> None:
    assert upload(client, "admin", roster(row(1)), unit_code="NOPE").status_code == 404
    response = upload(client, "admin", roster(row(1, "X01")), unit_code="X01")
    assert response.status_code == 422 and response.json()["code"] == "not_grassroots"


def test_an_xlsx_roster_is_imported(client: TestClient, world: World, session: Session) -> None:
    data = xlsx(
        ["会员甲", id_number(1), "13800000001", "在职", "G11", "6222020000000001", "工商银行"],
        ["会员乙", id_number(2), None, "退休", "G11", None, None],
        ["坏人", "110105198005170000", None, "在职", "G11", None, None],
    )
    response = upload(client, "l1_a", data, filename="名册.xlsx")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["total_rows"], body["imported"], body["rejected_rows"]) == (3, 2, 1)
    assert body["errors"][0]["row"] == 4 and body["errors"][0]["column"] == "身份证号"
    assert enrolments(session) == 2


def test_the_error_report_downloads_for_the_uploader_and_admins_only(
    client: TestClient, world: World, store: LocalObjectStore
) -> None:
    body = upload(
        client, "l1_a", roster(row(1), row(1), "=HYPERLINK(1),123,,在职,G11,,"), filename="一月名册.csv"
    ).json()
    url = body["error_report_url"]
    for username in ("l1_a", "admin"):
        response = client.get(url, headers=login(client, username))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        disposition = response.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="') and '.errors.csv"' in disposition
        assert "filename*=UTF-8''%E4%B8%80%E6%9C%88%E5%90%8D%E5%86%8C.errors.csv" in disposition
        assert response.content.startswith("\ufeff行号,列,内容,原因".encode())
        text = response.content.decode("utf-8-sig")
        assert id_number(1) not in text and "\n=" not in text and ",=" not in text
        assert text.count("\r\n") == 1 + body["error_count"]
    for username in ("l1_a2", "l1_b", "auditor", "finance"):
        assert client.get(url, headers=login(client, username)).status_code == 404
    assert client.get(url).status_code == 401
    assert client.get("/api/rosters/reports/" + "0" * 32, headers=login(client, "admin")).status_code == 404
    assert client.get("/api/rosters/reports/..%2F..%2Fsecret", headers=login(client, "admin")).status_code == 404
    assert any(key.startswith("reports/rosters/") for key in store.list("reports"))


def test_a_clean_roster_has_no_error_report(client: TestClient, world: World) -> None:
    body = upload(client, "admin", roster(row(1))).json()
    assert (body["imported"], body["error_report_id"], body["error_report_url"]) == (1, None, None)


def test_a_roster_over_50_mb_is_refused(client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import api.routes.rosters

    monkeypatch.setattr(api.routes.rosters, "MAX_ROSTER_BYTES", 100)
    response = upload(client, "admin", roster(row(1), row(2), row(3)))
    assert response.status_code == 422 and response.json()["code"] == "file_too_large"


def test_id_numbers_are_masked_in_row_errors(client: TestClient, world: World) -> None:
    data = roster(row(1), row(1))  # the same person twice
    body = upload(client, "admin", data).json()
    assert body["imported"] == 1
    assert id_number(1) not in str(body)


@pytest.mark.parametrize("username", ["auditor", "finance", "l2_a", "l3"])
def test_other_roles_get_403(client: TestClient, world: World, username: str) -> None:
    assert upload(client, username, roster(row(1))).status_code == 403


def test_no_token_is_401(client: TestClient, world: World) -> None:
    assert upload(client, None, roster(row(1))).status_code == 401


@pytest.mark.parametrize("data", [b"", b"%PDF-1.7 binary", "\ufeff".encode()], ids=["empty", "pdf", "bom-only"])
def test_a_file_that_is_no_roster_is_422(client: TestClient, world: World, data: bytes) -> None:
    response = upload(client, "admin", data)
    assert response.status_code == 422
    assert response.json()["code"] == "roster_file_invalid"


def test_unknown_programme_year_is_404(client: TestClient, world: World) -> None:
    assert upload(client, "admin", roster(row(1)), year=2031).status_code == 404
    assert upload(client, "admin", roster(row(1)), programme_code="NOPE").status_code == 404


@pytest.mark.parametrize(
    "form", [{"year": "abc"}, {"year": "1800"}, {"programme_code": ""}, {"unit_code": ""}, {"unit_code": "G1 1"}]
)
def test_bad_form_fields_are_422(client: TestClient, world: World, form: dict[str, str]) -> None:
    assert upload(client, "admin", roster(row(1)), **form).status_code == 422


def test_missing_file_is_422(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/rosters",
        data={"programme_code": "MA", "year": "2026", "unit_code": "G11"},
        headers=login(client, "admin"),
    )
    assert response.status_code == 422


def test_missing_unit_code_is_422(client: TestClient, world: World) -> None:
    headers = login(client, "admin")
    files = {"file": ("roster.csv", roster(row(1)), "text/csv")}
    response = client.post("/api/rosters", data={"programme_code": "MA", "year": "2026"}, files=files, headers=headers)
    assert response.status_code == 422


def test_bank_cards_never_leave_in_full(client: TestClient, world: World) -> None:
    bad_card = f"会员甲,{id_number(1)},,在职,G11,62220200000000000001234,工商银行"  # 23 digits: refused
    body = upload(client, "l1_a", roster(bad_card, row(2))).json()
    assert body["errors"][0]["column"] == "银行卡号"
    assert "62220200000000000001234" not in str(body)
    report = client.get(body["error_report_url"], headers=login(client, "l1_a")).content.decode("utf-8-sig")
    assert "62220200000000000001234" not in report and f"62220200000{2:08d}" not in report + str(body)
