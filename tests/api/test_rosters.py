"""Roster import over HTTP: administrators for any unit, unit officers for their own subtree only."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

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


def upload(client: TestClient, username: str | None, data: bytes, **form: Any) -> Any:
    """POST a roster file as username."""
    headers = login(client, username) if username else {}
    fields = {"programme_code": "MA", "year": "2026"} | {k: str(v) for k, v in form.items()}
    files = {"file": ("roster.csv", data, "text/csv")}
    return client.post("/api/rosters", data=fields, files=files, headers=headers)


def enrolments(session: Session) -> int:
    """How many enrolments exist."""
    count = session.exec(select(func.count()).select_from(Enrolment)).one()
    session.commit()
    return count


def test_admin_imports_any_unit(client: TestClient, world: World, session: Session) -> None:
    response = upload(client, "admin", roster(row(1, "G11"), row(2, "G21"), "坏行,123,,在职,G11,,"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_rows"] == 3 and body["imported"] == 2
    assert len(body["errors"]) >= 1
    error = body["errors"][0]
    assert set(error) == {"row", "column", "value", "reason"} and error["row"] == 4
    assert enrolments(session) == 2


def test_unit_officer_imports_only_their_subtree(client: TestClient, world: World, session: Session) -> None:
    response = upload(client, "l1_a", roster(row(1, "G11"), row(2, "G21")))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["imported"] == 1
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(3, "单位")]
    assert enrolments(session) == 1


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


@pytest.mark.parametrize("form", [{"year": "abc"}, {"year": "1800"}, {"programme_code": ""}])
def test_bad_form_fields_are_422(client: TestClient, world: World, form: dict[str, str]) -> None:
    assert upload(client, "admin", roster(row(1)), **form).status_code == 422


def test_missing_file_is_422(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/rosters", data={"programme_code": "MA", "year": "2026"}, headers=login(client, "admin")
    )
    assert response.status_code == 422
