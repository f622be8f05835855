"""A member follows their own claims: accounts linked by ID number, their claims only, explanations."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import ClaimMaker, login
from tests.factories import PASSWORD, World, id_number


def member_account(client: TestClient, username: str, n: int) -> dict[str, str]:
    body = {"username": username, "full_name": "会员", "password": PASSWORD, "role": "member",
            "member_id_number": id_number(n)}  # fmt: skip
    created = client.post("/api/users", json=body, headers=login(client, "admin"))
    assert created.status_code == 201, created.text
    assert id_number(n) not in created.text
    return login(client, username)


def test_a_member_sees_their_own_claims_and_no_one_elses(
    client: TestClient, world: World, make_claim: ClaimMaker
) -> None:
    mine, theirs = make_claim(), make_claim()  # members 1 and 2
    me = member_account(client, "member1", 1)
    listed = client.get("/api/me/claims", headers=me)
    assert listed.status_code == 200
    assert [c["reference"] for c in listed.json()] == [mine.reference]
    one = client.get(f"/api/me/claims/{mine.reference}", headers=me).json()
    assert one["status"] == "in_review" and one["explanation"]
    assert client.get(f"/api/me/claims/{theirs.reference}", headers=me).status_code == 404
    # a member reaches neither the case tracking nor the queue
    assert client.get(f"/api/claims/{mine.id}", headers=me).status_code == 403
    assert client.get("/api/tasks", headers=me).status_code == 403


def test_staff_have_no_member_claims(client: TestClient, world: World) -> None:
    assert client.get("/api/me/claims", headers=login(client, "l1_a")).status_code == 403


def test_member_accounts_need_a_known_member_once(client: TestClient, world: World, make_claim: ClaimMaker) -> None:
    make_claim()
    admin = login(client, "admin")
    base = {"full_name": "会员", "password": PASSWORD, "role": "member"}
    missing = client.post("/api/users", json=base | {"username": "m0"}, headers=admin)
    assert missing.status_code == 422 and missing.json()["code"] == "member_id_number_missing"
    unknown = client.post(
        "/api/users", json=base | {"username": "m9", "member_id_number": id_number(99)}, headers=admin
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "member_not_found"
    assert client.post("/api/users", json=base | {"username": "m1", "member_id_number": id_number(1)},
                       headers=admin).status_code == 201  # fmt: skip
    again = client.post("/api/users", json=base | {"username": "m2", "member_id_number": id_number(1)}, headers=admin)
    assert again.status_code == 409
