"""Case tracking: a claim's status and timeline for administrators, auditors and reviewers; no personal data."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from models.claims import Claim, ClaimStatus
from models.members import Member
from models.payments import Payment, PaymentBatch, PaymentStatus
from models.states import SYSTEM, change_status
from tests.api.conftest import ClaimMaker, fresh, login, task_of
from tests.factories import World


def approve(client: TestClient, session: Session, username: str, claim_id: int | None, level: int) -> None:
    """Approve the claim's task at level as username."""
    task = task_of(session, claim_id, level)
    body = {"outcome": "approve", "version": task.version}
    response = client.post(f"/api/tasks/{task.id}/decision", json=body, headers=login(client, username))
    assert response.status_code == 200, response.text


def test_claim_status_by_id_and_reference(client: TestClient, world: World, make_claim: ClaimMaker) -> None:
    claim = make_claim(payout_fen=350000)
    headers = login(client, "admin")
    response = client.get(f"/api/claims/{claim.id}", headers=headers)
    assert response.status_code == 200
    case = response.json()
    assert case["reference"] == claim.reference
    assert case["status"] == "in_review" and case["status_label"] == "审核中"
    assert case["benefit_type"] == "hospitalisation" and case["benefit_type_label"] == "住院"
    assert case["payout_yuan"] == "3,500.00"
    assert case["required_levels"] == 2 and case["current_level"] == 1
    assert case["current_level_name"] == "初审（基层工会）"
    assert case["explanation"] == ["基础补偿 = 3500.00"]
    assert [(s["step"], s["result_fen"], s["result_yuan"]) for s in case["calculation"]] == [
        ("base", 350000, "3,500.00")
    ]
    assert case["missing_documents"] == []
    assert case["rejection_reason"] is None and case["decided_at"] is None
    by_reference = client.get(f"/api/claims/by-reference/{claim.reference}", headers=headers)
    assert by_reference.status_code == 200
    assert by_reference.json() == case


def test_labels_follow_accept_language(client: TestClient, world: World, make_claim: ClaimMaker) -> None:
    claim = make_claim()
    headers = login(client, "auditor") | {"Accept-Language": "en-GB,en;q=0.9"}
    case = client.get(f"/api/claims/{claim.id}", headers=headers).json()
    assert case["status_label"] == "In review"
    assert case["benefit_type_label"] == "Hospitalisation"


def test_no_personal_data_in_any_claim_response(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    claim = make_claim()
    approve(client, session, "l1_a", claim.id, 1)
    member = fresh(session, Member, claim.member_id)
    stored = fresh(session, Claim, claim.id or 0)
    secrets = [member.id_number, member.id_number[:14], member.bank_card or "", stored.diagnosis_text, "K35.8"]
    for username in ["admin", "auditor", "l1_a", "l2_a", "l3"]:
        headers = login(client, username)
        for path in [
            f"/api/claims/{claim.id}",
            f"/api/claims/by-reference/{claim.reference}",
            f"/api/claims/{claim.id}/timeline",
            "/api/tasks",
        ]:
            response = client.get(path, headers=headers)
            if path == "/api/tasks" and username in ("admin", "auditor"):
                continue
            assert response.status_code == 200, (username, path)
            for secret in secrets:
                assert secret not in response.text, (username, path)


@pytest.mark.parametrize("username", ["admin", "auditor", "l1_a", "l2_a", "l3"])
def test_who_sees_a_grassroots_claim(client: TestClient, world: World, make_claim: ClaimMaker, username: str) -> None:
    claim = make_claim(unit=0)
    assert client.get(f"/api/claims/{claim.id}", headers=login(client, username)).status_code == 200


@pytest.mark.parametrize("username", ["l1_b", "l2_b"])
def test_reviewers_outside_the_subtree_get_404(
    client: TestClient, world: World, make_claim: ClaimMaker, username: str
) -> None:
    claim = make_claim(unit=0)
    headers = login(client, username)
    for path in [
        f"/api/claims/{claim.id}",
        f"/api/claims/{claim.id}/timeline",
        f"/api/claims/by-reference/{claim.reference}",
    ]:
        response = client.get(path, headers=headers)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_finance_and_members_get_403(client: TestClient, world: World, make_claim: ClaimMaker) -> None:
    claim = make_claim()
    headers = login(client, "finance")
    assert client.get(f"/api/claims/{claim.id}", headers=headers).status_code == 403
    assert client.get(f"/api/claims/{claim.id}/timeline", headers=headers).status_code == 403
    assert client.get(f"/api/claims/by-reference/{claim.reference}", headers=headers).status_code == 403


@pytest.mark.parametrize("path", ["/api/claims/1", "/api/claims/1/timeline", "/api/claims/by-reference/C2026-T0000001"])
def test_claim_routes_need_a_token(client: TestClient, world: World, path: str) -> None:
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer nonsense"}).status_code == 401


def test_unknown_claims_are_404_and_bad_ids_422(client: TestClient, world: World) -> None:
    headers = login(client, "admin")
    assert client.get("/api/claims/777777", headers=headers).status_code == 404
    assert client.get("/api/claims/777777/timeline", headers=headers).status_code == 404
    assert client.get("/api/claims/by-reference/C2026-NOPE", headers=headers).status_code == 404
    assert client.get("/api/claims/0", headers=headers).status_code == 422
    assert client.get("/api/claims/99999999999999999999", headers=headers).status_code == 422
    assert client.get("/api/claims/by-reference/" + "X" * 40, headers=headers).status_code == 422
    assert client.get("/api/claims/by-reference/a%00b", headers=headers).status_code == 422


def test_timeline_shows_the_events_in_order(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    claim = make_claim(payout_fen=500001)
    other = make_claim()  # its events must not show up
    headers = login(client, "l1_a")
    task = task_of(session, claim.id)
    client.post(f"/api/tasks/{task.id}/take", headers=headers)
    client.post(f"/api/tasks/{task.id}/release", headers=headers)
    approve(client, session, "l1_a", claim.id, 1)
    approve(client, session, "l2_a", claim.id, 2)
    approve(client, session, "l3", claim.id, 3)
    response = client.get(f"/api/claims/{claim.id}/timeline", headers=login(client, "auditor"))
    assert response.status_code == 200
    events = [
        (e["entity_type"], e["action"], e["from_state"], e["to_state"], e["actor_label"]) for e in response.json()
    ]
    assert events == [
        ("claim", "claim.in_review", "submitted", "in_review", "system"),
        ("approval_task", "approval_task.taken", "open", "taken", "l1_a"),
        ("approval_task", "approval_task.open", "taken", "open", "l1_a"),
        ("approval_task", "task.approve", "open", "completed", "l1_a"),
        ("claim", "claim.level_approved", "in_review", "in_review", "l1_a"),
        ("approval_task", "task.approve", "open", "completed", "l2_a"),
        ("claim", "claim.level_approved", "in_review", "in_review", "l2_a"),
        ("approval_task", "task.approve", "open", "completed", "l3"),
        ("claim", "claim.in_notice", "in_review", "in_notice", "l3"),
    ]
    times = [e["occurred_at"] for e in response.json()]
    assert times == sorted(times)
    assert all(e["entity_id"] != other.id or e["entity_type"] != "claim" for e in response.json())
    case = client.get(f"/api/claims/{claim.id}", headers=login(client, "l3")).json()
    assert case["status"] == "in_notice" and case["status_label"] == "公示中"
    assert case["decided_at"] is not None and case["notice_ends_at"] is not None


def test_timeline_includes_the_claims_payments(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    claim = make_claim(payout_fen=350000)
    approve(client, session, "l1_a", claim.id, 1)
    approve(client, session, "l2_a", claim.id, 2)
    stored = fresh(session, Claim, claim.id or 0)
    for to in (ClaimStatus.PAYABLE, ClaimStatus.IN_PAYMENT):
        change_status(session, stored, to, actor=SYSTEM)
    assert world.policy_year.id is not None and stored.id is not None
    batch = PaymentBatch(batch_no="B2026-0001", policy_year_id=world.policy_year.id, payment_count=1, total_fen=350000)
    session.add(batch)
    session.flush()
    assert batch.id is not None
    payment = Payment(
        batch_id=batch.id,
        claim_id=stored.id,
        amount_fen=350000,
        payee_name="测试会员1",
        bank_card="6222020000000000001",
        bank_name="工商银行",
    )
    session.add(payment)
    session.flush()
    change_status(session, payment, PaymentStatus.PAID, actor=SYSTEM, values={"bank_reference": "BANK-1"})
    change_status(session, stored, ClaimStatus.PAID, actor=SYSTEM)
    session.commit()
    response = client.get(f"/api/claims/{claim.id}/timeline", headers=login(client, "admin"))
    tail = [(e["entity_type"], e["entity_id"], e["to_state"]) for e in response.json()][-4:]
    assert tail == [
        ("claim", claim.id, "payable"),
        ("claim", claim.id, "in_payment"),
        ("payment", payment.id, "paid"),
        ("claim", claim.id, "paid"),
    ]
    assert "6222020000000000001" not in response.text
    assert client.get(f"/api/claims/{claim.id}", headers=login(client, "admin")).json()["status_label"] == "已发放"
