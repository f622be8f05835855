"""Sign-in, the bearer token, /api/me, the health check and the OpenAPI document."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from core.security import create_token
from models.users import User
from tests.api.conftest import login
from tests.factories import World


def test_health_is_public_and_checks_the_database(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_token_and_me(client: TestClient, world: World) -> None:
    response = client.post("/api/auth/token", data={"username": "l2_a", "password": "correct-horse-42"})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["access_token"]
    me = client.get("/api/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json() == {
        "id": world.user("l2_a").id,
        "username": "l2_a",
        "full_name": "l2_a",
        "role": "county_reviewer",
        "org_unit_id": world.counties[0].id,
        "review_level": 2,
        "is_active": True,
        "is_supervisor": False,
    }
    assert "password" not in me.text


@pytest.mark.parametrize(("username", "password"), [("l2_a", "wrong-password"), ("nobody", "correct-horse-42")])
def test_bad_credentials_are_401(client: TestClient, world: World, username: str, password: str) -> None:
    response = client.post("/api/auth/token", data={"username": username, "password": password})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["detail"] == "用户名或密码错误"


def test_token_form_without_password_is_422(client: TestClient, world: World) -> None:
    response = client.post("/api/auth/token", data={"username": "l2_a"})
    assert response.status_code == 422
    assert response.json()["code"] == "request_invalid"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-token", "Basic bDJfYTpwdw==", "Bearer "],
    ids=["missing", "garbage", "wrong-scheme", "empty"],
)
def test_me_without_a_valid_token_is_401(client: TestClient, world: World, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/api/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_expired_token_is_401(client: TestClient, world: World) -> None:
    user_id = world.user("admin").id
    assert user_id is not None
    token = create_token(user_id, minutes=-1)
    response = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_token_of_a_deleted_or_unknown_user_is_401(client: TestClient, world: World) -> None:
    response = client.get("/api/me", headers={"Authorization": f"Bearer {create_token(999_999)}"})
    assert response.status_code == 401


def test_inactive_user_cannot_sign_in_or_use_a_token(client: TestClient, world: World, session: Session) -> None:
    headers = login(client, "finance")
    user = session.get(User, world.user("finance").id)
    assert user is not None
    user.is_active = False
    session.commit()
    assert client.get("/api/me", headers=headers).status_code == 401
    response = client.post("/api/auth/token", data={"username": "finance", "password": "correct-horse-42"})
    assert response.status_code == 401


def test_openapi_lists_the_routes(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["info"]["title"] == "工会职工医疗互助保障 API"
    paths = spec["paths"]
    for path in [
        "/health",
        "/api/auth/token",
        "/api/me",
        "/api/users",
        "/api/tasks",
        "/api/tasks/{task_id}",
        "/api/tasks/{task_id}/take",
        "/api/tasks/{task_id}/release",
        "/api/tasks/{task_id}/decision",
        "/api/tasks/{task_id}/history",
        "/api/claims/{claim_id}",
        "/api/claims/{claim_id}/timeline",
        "/api/claims/by-reference/{reference}",
        "/api/rosters",
        "/api/public/publications",
        "/api/public/publications/{publication_id}",
        "/api/public/publications/{publication_id}/files/{name}",
    ]:
        assert path in paths, path
    assert "OAuth2PasswordBearer" in spec["components"]["securitySchemes"]
    assert client.get("/docs").status_code == 200
