"""Rules per policy year through the API (read, change, versions) and quotes that file nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from models.claims import Claim
from models.rules import PolicyRules
from tasks.claims.benefits import ClaimFacts, calculate
from tests.api.conftest import ClaimMaker, login, task_of
from tests.factories import World, id_number

RULES = "/api/policy-years/MA/2026/rules"


def hospital(**overrides: Any) -> dict[str, Any]:
    claim = {
        "benefit_type": "hospitalisation",
        "admission_date": "2026-05-01",
        "discharge_date": "2026-05-10",
        "hospital_name": "市第一人民医院",
        "hospital_tier": "tier3",
        "diagnosis_code": "J18.9",
        "invoice_numbers": ["FPQ-1"],
        "total_cost": "10000.00",
        "basic_insurance": "6000.00",
        "self_paid": "500.00",
    }
    return claim | overrides


def quote(client: TestClient, user: str, claim: dict[str, Any], **extra: Any) -> Any:
    body = {"programme_code": "MA", "claim": claim} | extra
    return client.post("/api/quotes", json=body, headers=login(client, user))


def claims_in(session: Session) -> int:
    count = session.exec(select(func.count()).select_from(Claim)).one()
    session.commit()
    return int(count)


# --- rules -----------------------------------------------------------------------------------------


def test_anyone_signed_in_reads_the_rules_only_admins_change_them(client: TestClient, world: World) -> None:
    read = client.get(RULES, headers=login(client, "l1_a"))
    assert read.status_code == 200
    assert read.json()["version"] == 1 and read.json()["current"] is True
    assert read.json()["rules"]["benefits"]["hospitalisation"]["ratio"] == "0.70"
    assert client.get(RULES).status_code == 401
    change = {"changes": {"benefits": {"hospitalisation": {"ratio": "0.75"}}}, "note": "试行"}
    for user in ("l1_a", "l3", "finance", "auditor"):
        assert client.patch(RULES, json=change, headers=login(client, user)).status_code == 403


def test_a_change_is_a_new_version_and_the_old_one_is_kept(client: TestClient, world: World) -> None:
    admin = login(client, "admin")
    change = {"changes": {"benefits": {"hospitalisation": {"ratio": "0.75"}}}, "note": "理事会决议"}
    changed = client.patch(RULES, json=change, headers=admin)
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2
    assert changed.json()["rules"]["benefits"]["hospitalisation"]["ratio"] == "0.75"
    whole = client.get(RULES, headers=admin).json()["rules"]
    whole["annual_cap_fen"] = 3000000
    replaced = client.put(RULES, json={"rules": whole, "note": "封顶三万"}, headers=admin)
    assert replaced.status_code == 200 and replaced.json()["version"] == 3
    versions = client.get(f"{RULES}/versions", headers=admin).json()
    assert [(v["version"], v["note"]) for v in versions] == [(1, "opened"), (2, "理事会决议"), (3, "封顶三万")]
    first = client.get(f"{RULES}/versions/1", headers=admin).json()
    assert first["current"] is False and first["rules"]["benefits"]["hospitalisation"]["ratio"] == "0.70"
    assert client.get(f"{RULES}/versions/9", headers=admin).status_code == 404
    assert client.get("/api/policy-years/MA/2031/rules", headers=admin).status_code == 404


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"changes": {"benefits": {"hospitalisation": {"ratio": "1.5"}}}}, "ratio"),
        ({"changes": {"annual_cap_fen": "lots"}}, "annual_cap_fen"),
        ({"changes": {"benefits": {"x": {"kind": "lottery", "label_zh": "x"}}}}, "kind"),
        ({"changes": {"nonsense": True}}, "nonsense"),
    ],
)
def test_invalid_changes_are_422_with_the_reason_and_change_nothing(
    client: TestClient, world: World, body: dict[str, Any], where: str
) -> None:
    admin = login(client, "admin")
    response = client.patch(RULES, json=body, headers=admin)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_rules" and where in response.json()["detail"]
    assert client.get(RULES, headers=admin).json()["version"] == 1
    assert client.patch(RULES, json={"changes": {}}, headers=admin).status_code == 422


# --- quotes ----------------------------------------------------------------------------------------


def test_a_quote_explains_the_payout_and_files_nothing(client: TestClient, world: World, session: Session) -> None:
    before = claims_in(session)
    response = quote(client, "l1_a", hospital())
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["payout_fen"], body["payout_yuan"], body["eligible_fen"]) == (245000, "2,450.00", 350000)
    assert body["granted"] is True and body["rejection"] is None and body["required_levels"] == 2
    assert [s["step"] for s in body["steps"]] == ["eligible", "base", "cap", "routing"]
    assert "70%" in body["steps"][1]["text"]
    assert body["member_known"] is False and body["remaining_cap_fen"] == 2_000_000
    assert body["benefit_type_label"] == "住院二次报销" and body["rules_version"] == 1
    assert claims_in(session) == before


def test_a_quote_in_english(client: TestClient, world: World) -> None:
    headers = login(client, "l1_a") | {"Accept-Language": "en"}
    body = client.post("/api/quotes", json={"programme_code": "MA", "claim": hospital()}, headers=headers).json()
    assert body["benefit_type_label"] == "Hospitalisation"
    assert body["steps"][0]["text"].startswith("Eligible cost = total 10,000.00")


@pytest.mark.parametrize(
    ("eligible", "payout", "levels"),
    [
        ("7142.86", 500000, 2),  # 70 % = 5,000.002 → 5,000.00: L1 + L2
        ("7142.87", 500001, 3),  # 5,000.009 → 5,000.01: L1 + L2 + L3
        ("428.57", 30000, 2),  # 299.999 → 300.00
        ("428.56", 30000, 2),  # 299.99 → at least 300
        ("200.00", 20000, 2),  # at least 300, but never more than the eligible cost
        ("0.01", 1, 2),
    ],
)
def test_quote_boundaries_minimum_and_routing(
    client: TestClient, world: World, eligible: str, payout: int, levels: int
) -> None:
    body = quote(client, "l1_a", hospital(total_cost=eligible, basic_insurance="0", self_paid="0")).json()
    assert (body["payout_fen"], body["required_levels"]) == (payout, levels)


def test_a_quote_for_a_member_counts_their_granted_claims(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    claim = make_claim(payout_fen=1_900_000, required_levels=2)
    for level, user in ((1, "l1_a"), (2, "l2_a")):
        task = task_of(session, claim.id, level)
        decided = client.post(
            f"/api/tasks/{task.id}/decision", json={"outcome": "approve", "version": task.version},
            headers=login(client, user),
        )  # fmt: skip
        assert decided.status_code == 200, decided.text
    body = quote(client, "l1_a", hospital(invoice_numbers=["FPQ-2"]), id_number=id_number(1)).json()
    assert body["member_known"] is True
    assert body["remaining_cap_fen"] == 100_000
    assert body["payout_fen"] == 100_000  # 2,450.00 lowered to what the cap leaves
    assert [s["step"] for s in body["steps"]][-2:] == ["cap", "routing"]
    # an invoice another live claim holds is named
    held = quote(client, "l1_a", hospital(hospital_name="示范市第一人民医院", invoice_numbers=["INV000001"]))
    assert held.json()["granted"] is False and "INV000001" in held.json()["rejection"]


def test_quote_scoping_and_members(client: TestClient, world: World, make_claim: ClaimMaker) -> None:
    make_claim()  # member 1 at G11 (county X01)
    assert quote(client, "l1_b", hospital(), id_number=id_number(1)).status_code == 404  # another county's member
    assert quote(client, "l2_b", hospital(), id_number=id_number(1)).status_code == 404
    assert quote(client, "l2_a", hospital(), id_number=id_number(1)).status_code == 200
    assert quote(client, "admin", hospital(), id_number=id_number(77)).status_code == 404
    response = quote(client, "admin", hospital(), id_number=id_number(1))
    assert id_number(1) not in response.text  # the ID number is never echoed


@pytest.mark.parametrize(
    ("claim", "code"),
    [
        (hospital(total_cost="-1"), "request_validation"),
        (hospital(basic_insurance="20000"), "eligible_negative"),
        (hospital(admission_date="2026-05-12"), "request_validation"),  # after the discharge
        (hospital(discharge_date="2099-01-01"), "discharge_in_future"),
        (hospital(hospital_tier="tier9"), "request_validation"),
        (hospital(hospital_tier=None), "hospital_tier_missing"),
        (hospital(benefit_type="lottery"), "unknown_benefit_type"),
        (hospital(total_cost="12.345"), "request_validation"),
        (hospital(total_cost=12500.5), None),  # a JSON number is read exactly as written
        ({"benefit_type": "special_hardship", "admission_date": "2026-05-01"}, "requested_amount_missing"),
        (hospital(admission_date="2019-01-01", discharge_date="2019-01-02"), "no_policy_year"),
    ],
)
def test_bad_claim_data_is_a_422_with_a_reason(
    client: TestClient, world: World, claim: dict[str, Any], code: str | None
) -> None:
    response = quote(client, "admin", claim)
    if code is None:
        assert response.status_code == 200, response.text
        return
    assert response.status_code == 422, response.text
    assert response.json()["detail"]
    if code != "request_validation":
        assert response.json()["code"] == code


def test_a_calculated_claim_shows_reviewers_each_step_with_its_inputs(
    client: TestClient, world: World, session: Session, make_claim: ClaimMaker
) -> None:
    claim = make_claim()
    calc = calculate(ClaimFacts("hospitalisation", total_fen=1_000_000, basic_insurance_fen=600_000), PolicyRules())
    stored = session.get(Claim, claim.id)
    assert stored is not None
    stored.explanation = calc.steps
    session.commit()
    for language, word in (("zh-CN", "合规费用"), ("en", "Eligible cost")):
        headers = login(client, "l2_a") | {"Accept-Language": language}
        case = client.get(f"/api/claims/{claim.id}", headers=headers).json()
        steps = case["calculation"]
        assert [s["step"] for s in steps] == ["eligible", "base", "cap", "routing"]
        assert steps[0]["text"].startswith(word) and steps[0]["result_yuan"] == "4,000.00"
        assert steps[0]["inputs"]["total_fen"] == 1_000_000
        assert steps[1]["inputs"]["ratio"] == "0.70" and steps[1]["result_fen"] == 280_000
