"""POST /api/policy-years/{programme}/{year}/what-if: who may ask, bad changes, and the report it returns."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from models.funds import FundSource
from tasks.claims.what_if import simulate
from tasks.funds.ledger import record_receipt
from tests.api.conftest import ClaimMaker, login
from tests.factories import World

URL = "/api/policy-years/MA/2026/what-if"
CHANGES = {"benefits": {"hospitalisation": {"ratio": "0.75"}}, "annual_cap_fen": 3000000}


@pytest.fixture
def claims(session: Session, world: World, make_claim: ClaimMaker) -> None:
    """Three claims in review (3,500, 6,000 and 1,200 calculated) and some money in the fund."""
    for payout in (350_000, 600_000, 120_000):
        make_claim(payout_fen=payout)
    record_receipt(
        session=session, policy_year=world.policy_year, source=FundSource.CONTRIBUTION, payer="第1区第1单位工会",
        amount_fen=950_000, received_on=date(2026, 1, 5), reference="JF-1",
    )  # fmt: skip
    session.commit()


@pytest.mark.parametrize("username", ["admin", "auditor", "l3"])
def test_admins_auditors_and_city_approvers_get_the_report(
    client: TestClient, session: Session, world: World, claims: None, username: str
) -> None:
    response = client.post(URL, json={"changes": CHANGES}, headers=login(client, username))

    assert response.status_code == 200, response.text
    body = response.json()
    session.expire_all()
    expected = simulate(session=session, policy_year=world.policy_year, changes=CHANGES)
    session.commit()
    assert body == expected.model_dump(mode="json")
    assert body["claims_considered"] == 3 and body["claims_in_review"] == 3
    assert body["actual"]["payouts_fen"] == 1_070_000 and body["actual"]["payouts_yuan"] == "10,700.00"
    assert body["projected"]["claim_ratio"] == expected.projected.claim_ratio.to_eng_string()
    assert isinstance(body["projected"]["claim_ratio"], str)  # exact decimals, never floats
    hospital = body["projected"]["by_benefit"][0]
    assert (hospital["benefit_type"], hospital["label"]) == ("hospitalisation", "住院二次报销")


@pytest.mark.parametrize("username", ["l1_a", "l2_a", "finance"])
def test_other_roles_are_refused(client: TestClient, world: World, username: str) -> None:
    response = client.post(URL, json={"changes": CHANGES}, headers=login(client, username))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_signing_in_is_required(client: TestClient, world: World) -> None:
    assert client.post(URL, json={"changes": CHANGES}).status_code == 401


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"annual_cap_fen": -1}, "annual_cap_fen"),
        ({"benefits": {"hospitalisation": {"ratio": "abc"}}}, "ratio"),
        ({"filing_deadline_days": 0}, "filing_deadline_days"),
        ({"benefits": {"hospitalisation": "none"}}, "hospitalisation"),
        ({"unknown_rule": True}, "unknown_rule"),
    ],
)
def test_a_bad_change_is_a_422_with_the_reason(
    client: TestClient, world: World, changes: dict[str, object], expected: str
) -> None:
    response = client.post(URL, json={"changes": changes}, headers=login(client, "admin"))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid_rules"
    assert expected in body["detail"] and "规则配置无效" in body["detail"]


@pytest.mark.parametrize("body", [{"changes": [1, 2]}, {"changes": "ratio=0.75"}, {"change": {}}, []])
def test_a_malformed_body_is_a_422(client: TestClient, world: World, body: object) -> None:
    response = client.post(URL, json=body, headers=login(client, "admin"))
    assert response.status_code == 422


def test_unknown_year_or_programme_is_404(client: TestClient, world: World) -> None:
    headers = login(client, "admin")
    assert client.post("/api/policy-years/MA/2031/what-if", json={}, headers=headers).status_code == 404
    assert client.post("/api/policy-years/XX/2026/what-if", json={}, headers=headers).status_code == 404


def test_labels_in_english_when_asked(client: TestClient, world: World, claims: None) -> None:
    headers = {**login(client, "auditor"), "Accept-Language": "en"}
    body = client.post(URL, json={}, headers=headers).json()
    labels = [b["label"] for b in body["actual"]["by_benefit"]]
    assert labels == ["Hospitalisation", "Critical illness", "Special hardship"]
    assert body["rules_changed"] == [] and body["payouts_down"] == 0


def test_no_personal_data_in_the_response(client: TestClient, world: World, claims: None) -> None:
    text = client.post(URL, json={"changes": CHANGES}, headers=login(client, "admin")).text
    for secret in ("测试会员", "110105", "SECRETDIAG", "K35.8", "6222020", "INV0"):
        assert secret not in text


def test_the_simulation_leaves_the_database_as_it_was(
    client: TestClient, session: Session, world: World, claims: None
) -> None:
    from sqlalchemy import text

    def snapshot() -> list[tuple[object, ...]]:
        rows = session.execute(text("SELECT id, status, version, payout_fen FROM claim ORDER BY id")).all()
        session.commit()
        return [tuple(r) for r in rows]

    before = snapshot()
    assert client.post(URL, json={"changes": CHANGES}, headers=login(client, "admin")).status_code == 200
    assert snapshot() == before
