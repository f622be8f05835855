"""Decisions through the API: the L1→L2 and L1→L2→L3 paths, reject, return, stale versions, four eyes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from models.approvals import ApprovalTask, Decision
from models.claims import Claim
from tests.api.conftest import ClaimMaker, fresh, login, task_of
from tests.factories import World


def open_task(session: Session, claim_id: int | None, level: int) -> ApprovalTask:
    """The open task of a claim at a level (as the database has it now)."""
    return task_of(session, claim_id, level)


def decide(client: TestClient, username: str, task: ApprovalTask, outcome: str = "approve", **extra: Any) -> Any:
    """POST a decision as username on task, with the task's current version unless given."""
    body = {"outcome": outcome, "version": task.version} | extra
    return client.post(f"/api/tasks/{task.id}/decision", json=body, headers=login(client, username))


def test_l1_then_l2_approval_puts_the_claim_in_notice(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    claim = make_claim(payout_fen=350000)
    first = decide(client, "l1_a", open_task(session, claim.id, 1))
    assert first.status_code == 200, first.text
    assert first.json()["task"]["status"] == "completed"
    assert first.json()["claim_status"] == "in_review"
    # the next level appears in the county reviewer's queue, and only there
    queue = client.get("/api/tasks", headers=login(client, "l2_a")).json()
    assert [(t["claim_id"], t["level"]) for t in queue] == [(claim.id, 2)]
    assert client.get("/api/tasks", headers=login(client, "l2_b")).json() == []
    second = decide(client, "l2_a", open_task(session, claim.id, 2))
    assert second.status_code == 200, second.text
    assert second.json()["claim_status"] == "in_notice"
    stored = fresh(session, Claim, claim.id or 0)
    assert stored.status == "in_notice"
    assert stored.decided_at is not None and stored.notice_ends_at is not None
    assert client.get("/api/tasks", headers=login(client, "l3")).json() == []


def test_payout_above_5000_needs_the_city_approver(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    claim = make_claim(payout_fen=500001)
    assert decide(client, "l1_a", open_task(session, claim.id, 1)).json()["claim_status"] == "in_review"
    assert decide(client, "l2_a", open_task(session, claim.id, 2)).json()["claim_status"] == "in_review"
    queue = client.get("/api/tasks", headers=login(client, "l3")).json()
    assert [(t["claim_id"], t["level"], t["payout_yuan"]) for t in queue] == [(claim.id, 3, "5,000.01")]
    assert queue[0]["level_name"] == "审批（市总工会）"
    final = decide(client, "l3", open_task(session, claim.id, 3))
    assert final.status_code == 200
    assert final.json()["claim_status"] == "in_notice"
    assert fresh(session, Claim, claim.id or 0).status == "in_notice"


def test_reject_with_reason(client: TestClient, world: World, make_claim: ClaimMaker, session: Session) -> None:
    claim = make_claim()
    response = decide(client, "l1_a", open_task(session, claim.id, 1), "reject", reason="发票与费用清单不符")
    assert response.status_code == 200
    assert response.json()["claim_status"] == "rejected"
    case = client.get(f"/api/claims/{claim.id}", headers=login(client, "admin")).json()
    assert case["status"] == "rejected"
    assert case["status_label"] == "不予补偿"
    assert case["rejection_reason"] == "发票与费用清单不符"


@pytest.mark.parametrize("outcome", ["reject", "return"])
@pytest.mark.parametrize("reason", [None, "", "   "], ids=["missing", "empty", "blank"])
def test_reject_or_return_without_reason_is_422(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session, outcome: str, reason: str | None
) -> None:
    claim = make_claim()
    task = open_task(session, claim.id, 1)
    response = decide(client, "l1_a", task, outcome, reason=reason)
    assert response.status_code == 422
    assert "reason" in response.json()["detail"]
    assert fresh(session, Claim, claim.id or 0).status == "in_review"


@pytest.mark.parametrize(
    "body",
    [{"outcome": "maybe", "version": 1}, {"outcome": "approve"}, {"outcome": "approve", "version": 0}, {}, []],
)
def test_malformed_decisions_are_422(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session, body: Any
) -> None:
    task = open_task(session, make_claim().id, 1)
    response = client.post(f"/api/tasks/{task.id}/decision", json=body, headers=login(client, "l1_a"))
    assert response.status_code == 422


def test_return_for_more_materials(client: TestClient, world: World, make_claim: ClaimMaker, session: Session) -> None:
    claim = make_claim()
    response = decide(client, "l1_a", open_task(session, claim.id, 1), "return", reason="请补充出院小结")
    assert response.status_code == 200
    assert response.json()["claim_status"] == "returned"
    assert fresh(session, Claim, claim.id or 0).status == "returned"


def test_stale_version_is_409(client: TestClient, world: World, make_claim: ClaimMaker, session: Session) -> None:
    claim = make_claim()
    task = open_task(session, claim.id, 1)
    headers = login(client, "l1_a")
    assert client.post(f"/api/tasks/{task.id}/take", headers=headers).status_code == 200  # version 1 → 2
    response = decide(client, "l1_a", task, version=1)
    assert response.status_code == 409
    assert response.json() == {"detail": "任务已变更，请刷新后重试", "code": "conflict"}
    assert decide(client, "l1_a", task, version=2).status_code == 200
    again = decide(client, "l1_a", task, version=3)
    assert again.status_code == 409


def test_deciding_a_task_someone_else_holds_is_409(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    task = open_task(session, make_claim().id, 1)
    assert client.post(f"/api/tasks/{task.id}/take", headers=login(client, "l1_a")).status_code == 200
    assert decide(client, "l1_a2", task, version=2).status_code == 409


def test_county_reviewer_of_x02_cannot_see_or_decide_x01(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    claim = make_claim(unit=0)
    assert decide(client, "l1_a", open_task(session, claim.id, 1)).status_code == 200
    task = open_task(session, claim.id, 2)
    outsider = login(client, "l2_b")
    assert client.get("/api/tasks", headers=outsider).json() == []
    for response in [
        client.get(f"/api/tasks/{task.id}", headers=outsider),
        client.post(f"/api/tasks/{task.id}/take", headers=outsider),
        client.get(f"/api/tasks/{task.id}/history", headers=outsider),
        decide(client, "l2_b", task),
        client.get(f"/api/claims/{claim.id}", headers=outsider),
        client.get(f"/api/claims/{claim.id}/timeline", headers=outsider),
        client.get(f"/api/claims/by-reference/{claim.reference}", headers=outsider),
    ]:
        assert response.status_code == 404
        assert set(response.json()) == {"detail", "code"}
    assert fresh(session, ApprovalTask, task.id or 0).status == "open"


def test_reviewer_who_filed_the_claim_cannot_take_or_decide_it(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    claim = make_claim(filed_by=world.user("l1_a").id)
    task = open_task(session, claim.id, 1)
    take = client.post(f"/api/tasks/{task.id}/take", headers=login(client, "l1_a"))
    assert take.status_code == 403
    assert take.json() == {"detail": "不能审批本人经办提交的申请", "code": "forbidden"}
    assert decide(client, "l1_a", task).status_code == 403
    assert decide(client, "l1_a2", task).status_code == 200  # a colleague may


def test_one_decision_row_per_decided_task(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    claim = make_claim()
    decide(client, "l1_a", open_task(session, claim.id, 1))
    decide(client, "l2_a", open_task(session, claim.id, 2))
    decisions = session.exec(select(Decision).where(Decision.claim_id == claim.id).order_by(col(Decision.level))).all()
    session.commit()
    assert [(d.level, d.outcome, d.decided_by) for d in decisions] == [
        (1, "approve", world.user("l1_a").id),
        (2, "approve", world.user("l2_a").id),
    ]


def test_nul_characters_in_a_reason_are_never_a_500(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    task = open_task(session, make_claim().id, 1)
    response = decide(client, "l1_a", task, "reject", reason="材料\x00不全")
    assert response.status_code in (200, 422)  # SQLite stores it; PostgreSQL refuses NUL in text
