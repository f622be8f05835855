"""User administration: create (admin only) and list (admin, auditor)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import login
from tests.factories import World


def new_user(**overrides: Any) -> dict[str, Any]:
    """A valid UserCreate body."""
    return {
        "username": "g12_officer",
        "full_name": "王*",
        "password": "another-horse-99",
        "role": "unit_officer",
        "org_unit_code": "G12",
    } | overrides


def test_admin_creates_a_user_who_can_sign_in(client: TestClient, world: World) -> None:
    response = client.post("/api/users", json=new_user(), headers=login(client, "admin"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["username"] == "g12_officer"
    assert body["org_unit_id"] == world.units[1].id
    assert body["review_level"] == 1
    assert "password" not in response.text and "hash" not in response.text
    assert login(client, "g12_officer", "another-horse-99")


def test_duplicate_username_is_409(client: TestClient, world: World) -> None:
    response = client.post("/api/users", json=new_user(username="l1_a"), headers=login(client, "admin"))
    assert response.status_code == 409
    assert response.json() == {"detail": "用户名 l1_a 已存在", "code": "conflict"}


def test_unknown_org_unit_is_404(client: TestClient, world: World) -> None:
    response = client.post("/api/users", json=new_user(org_unit_code="G99"), headers=login(client, "admin"))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "body",
    [
        new_user(username="x"),
        new_user(username="bad name!"),
        new_user(password="short"),
        new_user(role="emperor"),
        {"username": "only_name"},
        new_user(full_name="a\x00b" * 40),
    ],
    ids=["short-username", "bad-characters", "short-password", "unknown-role", "missing-fields", "too-long"],
)
def test_invalid_body_is_422_with_readable_errors(client: TestClient, world: World, body: dict[str, Any]) -> None:
    response = client.post("/api/users", json=body, headers=login(client, "admin"))
    assert response.status_code == 422
    payload = response.json()
    assert payload["code"] == "request_invalid"
    assert payload["detail"].startswith("请求数据无效")
    assert all(set(e) == {"field", "message", "type"} for e in payload["errors"])


def test_body_that_is_not_json_is_422(client: TestClient, world: World) -> None:
    headers = login(client, "admin") | {"Content-Type": "application/json"}
    response = client.post("/api/users", content=b"{not json", headers=headers)
    assert response.status_code == 422


@pytest.mark.parametrize("username", ["auditor", "finance", "l1_a", "l3"])
def test_only_admins_create_users(client: TestClient, world: World, username: str) -> None:
    response = client.post("/api/users", json=new_user(), headers=login(client, username))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_create_user_without_token_is_401(client: TestClient, world: World) -> None:
    assert client.post("/api/users", json=new_user()).status_code == 401


@pytest.mark.parametrize("username", ["admin", "auditor"])
def test_admin_and_auditor_list_users(client: TestClient, world: World, username: str) -> None:
    response = client.get("/api/users", headers=login(client, username))
    assert response.status_code == 200
    names = [u["username"] for u in response.json()]
    assert names == list(world.users)
    assert "password" not in response.text


def test_list_users_paginates(client: TestClient, world: World) -> None:
    response = client.get("/api/users?limit=2&offset=1", headers=login(client, "admin"))
    assert [u["username"] for u in response.json()] == ["auditor", "finance"]
    assert client.get("/api/users?limit=0", headers=login(client, "admin")).status_code == 422


@pytest.mark.parametrize("username", ["finance", "l1_a", "l2_a", "l3"])
def test_others_cannot_list_users(client: TestClient, world: World, username: str) -> None:
    assert client.get("/api/users", headers=login(client, username)).status_code == 403


def test_list_users_without_token_is_401(client: TestClient, world: World) -> None:
    assert client.get("/api/users").status_code == 401


def test_reviewer_without_org_unit_is_422(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/users", json=new_user(role="county_reviewer", org_unit_code=None), headers=login(client, "admin")
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
