"""Fund collection over HTTP: receipts by source, unit payments, the fund's figures and the reconciliation."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from models.enrolments import Enrolment, EnrolmentStatus
from models.funds import FundReceipt
from tasks.funds.ledger import post_payout
from tests.api.conftest import enrol, login
from tests.factories import World, id_number

FUND = "/api/funds/MA/2026"


def receipt(**overrides: Any) -> dict[str, Any]:
    """A valid receipt body."""
    body = {
        "source": "donation",
        "payer": "爱心企业",
        "amount": "1234.56",
        "received_on": "2026-03-01",
        "reference": "JZ-001",
    }
    return body | overrides


def post(client: TestClient, username: str | None, path: str, body: dict[str, Any]) -> Any:
    headers = login(client, username) if username else {}
    return client.post(f"{FUND}/{path}", json=body, headers=headers)


def get(client: TestClient, username: str | None, path: str = "", **params: Any) -> Any:
    headers = login(client, username) if username else {}
    return client.get(f"{FUND}{path}", params=params, headers=headers)


def count(session: Session, model: type) -> int:
    found = session.exec(select(func.count()).select_from(model)).one()
    session.commit()
    return found


@pytest.mark.parametrize(
    ("source", "label"),
    [
        ("contribution", "会员缴费"),
        ("union_subsidy", "工会经费补助"),
        ("donation", "社会捐赠"),
        ("government", "政府资助"),
    ],
)
@pytest.mark.parametrize("username", ["admin", "finance"])
def test_a_receipt_of_each_source_is_recorded(
    client: TestClient, world: World, session: Session, source: str, label: str, username: str
) -> None:
    response = post(client, username, "receipts", receipt(source=source, amount="1,234.5"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["source"], body["source_label"], body["amount_yuan"], body["amount_fen"]) == (
        source,
        label,
        "1,234.50",
        123450,
    )
    assert (body["payer"], body["reference"], body["received_on"], body["payer_unit_code"]) == (
        "爱心企业",
        "JZ-001",
        "2026-03-01",
        None,
    )
    stored = session.exec(select(FundReceipt)).one()
    session.commit()
    assert stored.recorded_by == world.user(username).id and stored.amount_fen == 123450


def test_a_contribution_receipt_can_name_its_unit(client: TestClient, world: World) -> None:
    response = post(client, "finance", "receipts", receipt(source="contribution", payer_unit_code="G22"))
    assert response.status_code == 201 and response.json()["payer_unit_code"] == "G22"
    rows = get(client, "finance", "/reconciliation").json()["units"]
    assert [(r["unit_code"], r["received_fen"], r["difference_yuan"]) for r in rows] == [("G22", 123456, "1,234.56")]
    assert post(client, "finance", "receipts", receipt(reference="X", payer_unit_code="NOPE")).status_code == 404


def test_a_duplicate_reference_is_409(client: TestClient, world: World, session: Session) -> None:
    assert post(client, "finance", "receipts", receipt()).status_code == 201
    response = post(client, "finance", "receipts", receipt(amount="1", source="government"))
    assert response.status_code == 409 and "JZ-001" in response.json()["detail"]
    assert count(session, FundReceipt) == 1


@pytest.mark.parametrize(
    "overrides",
    [
        {"amount": "0"},
        {"amount": "0.00"},
        {"amount": "-5"},
        {"amount": "abc"},
        {"amount": "1.234"},
        {"amount": "1e3"},
        {"amount": ""},
        {"amount": "1,23"},
        {"amount": "NaN"},
        {"amount": "1234567890123"},
        {"amount": 12.5},
        {"amount": 100},
        {"source": "lottery"},
        {"payer": ""},
        {"reference": ""},
        {"received_on": "2026-02-30"},
        {"received_on": "1900-01-01"},
        {"extra": "x"},
    ],
    ids=lambda o: f"{next(iter(o))}={next(iter(o.values()))!r}",
)
def test_a_malformed_receipt_is_422(
    client: TestClient, world: World, session: Session, overrides: dict[str, Any]
) -> None:
    response = post(client, "finance", "receipts", receipt(**overrides))
    assert response.status_code == 422, response.text
    assert count(session, FundReceipt) == 0


def test_a_blank_payer_after_trimming_is_422(client: TestClient, world: World) -> None:
    response = post(client, "finance", "receipts", receipt(payer="   "))
    assert response.status_code == 422 and response.json()["code"] == "validation_failed"


def test_missing_fields_are_422(client: TestClient, world: World) -> None:
    body = receipt()
    del body["amount"]
    assert post(client, "finance", "receipts", body).status_code == 422


def test_fund_endpoints_need_a_sign_in(client: TestClient, world: World) -> None:
    assert post(client, None, "receipts", receipt()).status_code == 401
    payment = {"unit_code": "G11", "received_on": "2026-01-01", "reference": "R"}
    assert post(client, None, "unit-payments", payment).status_code == 401
    assert get(client, None).status_code == 401
    assert get(client, None, "/reconciliation").status_code == 401


@pytest.mark.parametrize("username", ["auditor", "l1_a", "l2_a", "l3"])
def test_only_finance_and_admins_write(client: TestClient, world: World, session: Session, username: str) -> None:
    assert post(client, username, "receipts", receipt()).status_code == 403
    payment = {"unit_code": "G11", "received_on": "2026-01-01", "reference": "R"}
    assert post(client, username, "unit-payments", payment).status_code == 403
    assert count(session, FundReceipt) == 0


@pytest.mark.parametrize("username", ["l1_a", "l2_a", "l3"])
def test_only_finance_admins_and_auditors_read(client: TestClient, world: World, username: str) -> None:
    assert get(client, username).status_code == 403
    assert get(client, username, "/reconciliation").status_code == 403
    assert get(client, "auditor").status_code == 200
    assert get(client, "auditor", "/reconciliation", format="csv").status_code == 200


def test_unknown_programme_or_year_is_404(client: TestClient, world: World) -> None:
    headers = login(client, "finance")
    for base in ("/api/funds/NOPE/2026", "/api/funds/MA/2031"):
        assert client.post(f"{base}/receipts", json=receipt(), headers=headers).status_code == 404
        assert client.get(base, headers=headers).status_code == 404
        assert client.get(f"{base}/reconciliation", headers=headers).status_code == 404
    assert client.get("/api/funds/MA/1999", headers=headers).status_code == 422
    assert client.get("/api/funds/MA/2026/reconciliation?format=xml", headers=headers).status_code == 422


def test_a_unit_payment_activates_the_units_eligible_members(
    client: TestClient, world: World, session: Session
) -> None:
    enrol(session, world, range(1, 4), unit=0)
    payment = {"unit_code": "G11", "received_on": "2025-12-20", "reference": "JF-G11"}
    response = post(client, "finance", "unit-payments", payment)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["activated"], body["not_activated"], body["amount_yuan"], body["amount_fen"]) == (
        3,
        0,
        "285.00",
        28500,
    )
    assert body["receipt"]["source"] == "contribution" and body["receipt"]["payer_unit_code"] == "G11"
    assert body["receipt"]["member_count"] == 3 and body["receipt"]["reference"] == "JF-G11"
    statuses = session.exec(select(Enrolment.status)).all()
    session.commit()
    assert statuses == [EnrolmentStatus.ACTIVE] * 3
    assert session.exec(select(FundReceipt.recorded_by)).one() == world.user("finance").id
    session.commit()

    again = post(client, "finance", "unit-payments", payment | {"reference": "JF-G11-2"})
    assert again.status_code == 422 and "没有审核通过" in again.json()["detail"]


def test_a_unit_payment_for_listed_members(client: TestClient, world: World, session: Session) -> None:
    members = enrol(session, world, range(1, 4), unit=0)
    payment = {"unit_code": "G11", "received_on": "2026-01-10", "reference": "JF-1", "member_ids": members[:2]}
    body = post(client, "admin", "unit-payments", payment).json()
    assert (body["activated"], body["amount_fen"]) == (2, 19000)
    rest = post(client, "admin", "unit-payments", payment | {"reference": "JF-2", "member_ids": None}).json()
    assert rest["activated"] == 1


def test_unit_payment_errors(client: TestClient, world: World, session: Session) -> None:
    enrol(session, world, range(1, 2), unit=0)
    assert post(client, "finance", "receipts", receipt(reference="TAKEN")).status_code == 201
    payment = {"unit_code": "G11", "received_on": "2026-01-10", "reference": "TAKEN"}
    assert post(client, "finance", "unit-payments", payment).status_code == 409
    assert post(client, "finance", "unit-payments", payment | {"unit_code": "NOPE"}).status_code == 404
    nothing = payment | {"unit_code": "G21", "reference": "NEW"}
    assert post(client, "finance", "unit-payments", nothing).status_code == 422
    late = payment | {"received_on": "2026-11-01", "reference": "LATE"}
    response = post(client, "finance", "unit-payments", late)
    assert response.status_code == 422 and "等待期" in response.json()["detail"]
    for bad in ({"member_ids": [0]}, {"member_ids": "all"}, {"received_on": "soon"}, {"reference": ""}, {"x": 1}):
        assert post(client, "finance", "unit-payments", payment | {"reference": "B"} | bad).status_code == 422
    statuses = session.exec(select(Enrolment.status)).all()
    session.commit()
    assert statuses == [EnrolmentStatus.ELIGIBLE]


def test_the_fund_and_reconciliation_after_a_mixed_set(client: TestClient, world: World, session: Session) -> None:
    enrol(session, world, range(1, 4), unit=0)  # 3 × 95 due at G11
    g12 = enrol(session, world, range(4, 6), unit=1)  # 2 × 95 due at G12, 1 paid
    enrol(session, world, range(6, 7), unit=2)  # never paid
    whole = {"unit_code": "G11", "received_on": "2025-12-01", "reference": "JF-G11"}
    assert post(client, "finance", "unit-payments", whole).status_code == 200
    partial = {"unit_code": "G12", "received_on": "2026-02-01", "reference": "JF-G12", "member_ids": g12[:1]}
    assert post(client, "finance", "unit-payments", partial).status_code == 200
    others = [
        receipt(source="union_subsidy", amount="30000", reference="BZ-1"),
        receipt(source="donation", amount="5000.01", reference="JZ-1"),
        receipt(source="government", amount="10,000", reference="CZ-1"),
        receipt(source="contribution", amount="95.00", reference="JF-G22", payer_unit_code="G22"),
    ]
    for body in others:
        assert post(client, "admin", "receipts", body).status_code == 201
    assert world.policy_year.id is not None
    post_payout(session=session, policy_year_id=world.policy_year.id, amount_fen=1_234_567, memo="第1批")
    session.commit()

    fund = get(client, "auditor").json()
    assert (fund["programme_code"], fund["year"]) == ("MA", 2026)
    by_source = {s["source"]: (s["amount_fen"], s["amount_yuan"]) for s in fund["by_source"]}
    assert by_source == {
        "contribution": (47500, "475.00"),
        "union_subsidy": (3000000, "30,000.00"),
        "donation": (500001, "5,000.01"),
        "government": (1000000, "10,000.00"),
    }
    assert fund["receipts_fen"] == sum(fen for fen, _ in by_source.values()) == 4547501
    assert (fund["payouts_fen"], fund["payouts_yuan"]) == (1234567, "12,345.67")
    assert fund["balance_fen"] == fund["receipts_fen"] - fund["payouts_fen"] == 3312934
    assert (fund["receipts_yuan"], fund["balance_yuan"]) == ("45,475.01", "33,129.34")

    recon = get(client, "finance", "/reconciliation").json()
    rows = {r["unit_code"]: r for r in recon["units"]}
    figures = {
        code: (r["expected_fen"], r["received_fen"], r["difference_fen"], r["members_enrolled"], r["members_activated"])
        for code, r in rows.items()
    }
    assert figures == {
        "G11": (28500, 28500, 0, 3, 3),
        "G12": (19000, 9500, -9500, 2, 1),
        "G21": (9500, 0, -9500, 1, 0),
        "G22": (0, 9500, 9500, 0, 0),
    }
    assert rows["G12"]["difference_yuan"] == "-95.00" and rows["G11"]["unit_name"] == world.units[0].name
    totals = recon["totals"]
    assert (totals["expected_fen"], totals["received_fen"], totals["difference_fen"]) == (57000, 47500, -9500)
    assert totals["received_fen"] == by_source["contribution"][0]

    download = get(client, "finance", "/reconciliation", format="csv")
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'attachment; filename="reconciliation-MA-2026.csv"' in download.headers["content-disposition"]
    assert download.content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert lines[0] == ["单位编码", "单位名称", "应缴金额(元)", "实缴金额(元)", "差额(元)", "登记人数", "已缴费人数"]
    assert lines[2] == ["G12", world.units[1].name, "190.00", "95.00", "-95.00", "2", "1"]
    assert lines[-1] == ["合计", "", "570.00", "475.00", "-95.00", "6", "4"]
    assert b"\r\n" in download.content

    for n in range(1, 7):
        assert id_number(n) not in str(fund) + str(recon) + download.text
