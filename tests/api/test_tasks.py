"""The reviewer's queue: list, get, take, release, history, and who may see what."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from models.approvals import ApprovalTask
from tests.api.conftest import ClaimMaker, login, task_of
from tests.factories import World, id_number


def l1_task(session: Session, claim_id: int | None) -> ApprovalTask:
    """The level-1 task of a claim."""
    return task_of(session, claim_id, 1)


def test_queue_shows_my_level_and_subtree(client: TestClient, world: World, make_claim: ClaimMaker) -> None:
    mine = make_claim(unit=0, payout_fen=123456)
    make_claim(unit=2)  # X02's grassroots G21: not l1_a's
    response = client.get("/api/tasks", headers=login(client, "l1_a"))
    assert response.status_code == 200
    tasks = response.json()
    assert len(tasks) == 1
    task = tasks[0]
    assert task["claim_id"] == mine.id
    assert task["claim_reference"] == mine.reference
    assert task["benefit_type"] == "hospitalisation"
    assert task["payout_yuan"] == "1,234.56"
    assert task["level"] == 1 and task["level_name"] == "初审（基层工会）"
    assert task["status"] == "open" and task["version"] == 1
    assert task["org_unit_id"] == world.units[0].id
    # level 2 has nothing yet; the other grassroots officer sees only the other claim
    assert client.get("/api/tasks", headers=login(client, "l2_a")).json() == []
    assert [t["org_unit_id"] for t in client.get("/api/tasks", headers=login(client, "l1_b")).json()] == [
        world.units[2].id
    ]


def test_city_approver_queue_is_empty_until_level_3(client: TestClient, world: World, make_claim: ClaimMaker) -> None:
    make_claim(payout_fen=600000)
    assert client.get("/api/tasks", headers=login(client, "l3")).json() == []


def test_queue_filters_and_pagination(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    claims = [make_claim(unit=0) for _ in range(3)]
    headers = login(client, "l1_a")
    first = l1_task(session, claims[0].id)
    assert client.post(f"/api/tasks/{first.id}/take", headers=headers).status_code == 200
    assert [t["id"] for t in client.get("/api/tasks?mine=true", headers=headers).json()] == [first.id]
    assert len(client.get("/api/tasks?status=open", headers=headers).json()) == 2
    assert len(client.get("/api/tasks?status=taken", headers=headers).json()) == 1
    assert client.get("/api/tasks?status=completed", headers=headers).json() == []
    page = client.get("/api/tasks?limit=2&offset=1", headers=headers).json()
    assert len(page) == 2
    assert client.get("/api/tasks?mine=true", headers=login(client, "l1_a2")).json() == []


@pytest.mark.parametrize(
    "query", ["status=bogus", "limit=0", "limit=100000", "offset=-1", "mine=perhaps", "offset=99999999999999999999"]
)
def test_queue_rejects_bad_parameters_with_422(client: TestClient, world: World, query: str) -> None:
    response = client.get(f"/api/tasks?{query}", headers=login(client, "l1_a"))
    assert response.status_code == 422
    assert response.json()["code"] == "request_invalid"


@pytest.mark.parametrize("username", ["admin", "auditor", "finance"])
def test_users_without_a_review_level_get_403(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session, username: str
) -> None:
    task = l1_task(session, make_claim().id)
    headers = login(client, username)
    assert client.get("/api/tasks", headers=headers).status_code == 403
    assert client.get(f"/api/tasks/{task.id}", headers=headers).status_code == 403
    assert client.post(f"/api/tasks/{task.id}/take", headers=headers).status_code == 403
    assert client.post(f"/api/tasks/{task.id}/release", headers=headers).status_code == 403
    decision = {"outcome": "approve", "version": 1}
    response = client.post(f"/api/tasks/{task.id}/decision", json=decision, headers=headers)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert client.get(f"/api/tasks/{task.id}/history", headers=headers).status_code == 403


def test_member_role_gets_403(client: TestClient, world: World, make_claim: ClaimMaker) -> None:
    make_claim()  # member 1
    admin = login(client, "admin")
    body = {"username": "member1", "full_name": "会员", "password": "member-pass-1", "role": "member",
            "member_id_number": id_number(1)}  # fmt: skip
    assert client.post("/api/users", json=body, headers=admin).status_code == 201
    headers = login(client, "member1", "member-pass-1")
    assert client.get("/api/tasks", headers=headers).status_code == 403
    assert client.post("/api/tasks/1/take", headers=headers).status_code == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/tasks"),
        ("get", "/api/tasks/1"),
        ("post", "/api/tasks/1/take"),
        ("post", "/api/tasks/1/release"),
        ("post", "/api/tasks/1/decision"),
        ("get", "/api/tasks/1/history"),
    ],
)
@pytest.mark.parametrize("token", [None, "Bearer forged.token.value"], ids=["no-token", "bad-token"])
def test_task_routes_need_a_valid_token(
    client: TestClient, world: World, method: str, path: str, token: str | None
) -> None:
    headers = {"Authorization": token} if token else {}
    body = {"outcome": "approve", "version": 1} if path.endswith("decision") else None
    response = client.request(method.upper(), path, headers=headers, json=body)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_get_task_and_404s(client: TestClient, world: World, make_claim: ClaimMaker, session: Session) -> None:
    claim = make_claim()
    task = l1_task(session, claim.id)
    response = client.get(f"/api/tasks/{task.id}", headers=login(client, "l1_a"))
    assert response.status_code == 200
    assert response.json()["claim_reference"] == claim.reference
    missing = client.get("/api/tasks/999999", headers=login(client, "l1_a"))
    assert missing.status_code == 404
    assert missing.json() == {"detail": "未找到任务 999999", "code": "not_found"}
    # another unit's officer, and a reviewer of the wrong level, cannot see it either
    assert client.get(f"/api/tasks/{task.id}", headers=login(client, "l1_b")).status_code == 404
    assert client.get(f"/api/tasks/{task.id}", headers=login(client, "l2_a")).status_code == 404


@pytest.mark.parametrize("task_id", ["0", "-3", "abc", "99999999999999999999", "2147483648"])
def test_bad_task_ids_are_422_not_500(client: TestClient, world: World, task_id: str) -> None:
    assert client.get(f"/api/tasks/{task_id}", headers=login(client, "l1_a")).status_code == 422


def test_take_and_release(client: TestClient, world: World, make_claim: ClaimMaker, session: Session) -> None:
    task = l1_task(session, make_claim().id)
    mine, other = login(client, "l1_a"), login(client, "l1_a2")
    taken = client.post(f"/api/tasks/{task.id}/take", headers=mine)
    assert taken.status_code == 200
    assert taken.json()["status"] == "taken"
    assert taken.json()["assignee_id"] == world.user("l1_a").id
    assert taken.json()["version"] == 2
    assert client.post(f"/api/tasks/{task.id}/take", headers=mine).status_code == 200  # taking again is a no-op
    conflict = client.post(f"/api/tasks/{task.id}/take", headers=other)
    assert conflict.status_code == 409
    assert conflict.json() == {"detail": "任务已被他人领取或已处理", "code": "conflict"}
    assert client.post(f"/api/tasks/{task.id}/release", headers=other).status_code == 409
    released = client.post(f"/api/tasks/{task.id}/release", headers=mine)
    assert released.status_code == 200
    assert released.json()["status"] == "open" and released.json()["assignee_id"] is None
    assert client.post(f"/api/tasks/{task.id}/release", headers=mine).status_code == 409
    assert client.post(f"/api/tasks/{task.id}/take", headers=other).status_code == 200


def test_take_outside_my_subtree_is_404(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    task = l1_task(session, make_claim(unit=0).id)
    assert client.post(f"/api/tasks/{task.id}/take", headers=login(client, "l1_b")).status_code == 404
    assert client.post("/api/tasks/999999/release", headers=login(client, "l1_a")).status_code == 404


def test_history(client: TestClient, world: World, make_claim: ClaimMaker, session: Session) -> None:
    task = l1_task(session, make_claim().id)
    headers = login(client, "l1_a")
    client.post(f"/api/tasks/{task.id}/take", headers=headers)
    client.post(f"/api/tasks/{task.id}/release", headers=headers)
    response = client.get(f"/api/tasks/{task.id}/history", headers=headers)
    assert response.status_code == 200
    events = response.json()
    assert [(e["from_state"], e["to_state"]) for e in events] == [("open", "taken"), ("taken", "open")]
    assert {e["actor_label"] for e in events} == {"l1_a"}
    assert all(e["entity_type"] == "approval_task" and e["entity_id"] == task.id for e in events)
    assert client.get(f"/api/tasks/{task.id}/history", headers=login(client, "l1_b")).status_code == 404
    assert client.get("/api/tasks/424242/history", headers=headers).status_code == 404
