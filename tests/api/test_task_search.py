"""Searching the reviewer's queue: filters (status, kind, unit, benefit type, due date, overdue, assignee),
soonest due first, paging with the total in X-Total-Count, and the reviewer's level and subtree as the scope."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from models.approvals import ApprovalTask
from models.base import utcnow
from models.claims import BenefitType
from tests.api.conftest import ClaimMaker, login, task_of
from tests.factories import World


def ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return [t["claim_id"] for t in response.json()]


def set_due(session: Session, claim_id: int | None, days: float) -> None:
    """Move the claim's L1 task's due moment `days` from now (tasks opened in the past)."""
    task = session.get(ApprovalTask, task_of(session, claim_id).id)
    assert task is not None
    task.due_at = utcnow() + timedelta(days=days)
    session.commit()


def test_soonest_due_first_with_paging_and_total(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    claims = [make_claim() for _ in range(5)]
    for claim, days in zip(claims, [3, -2, 1, 5, -1], strict=True):
        set_due(session, claim.id, days)
    headers = login(client, "l1_a")
    response = client.get("/api/tasks", headers=headers)
    order = [claims[i].id for i in (1, 4, 2, 0, 3)]
    assert ids(response) == order and response.headers["X-Total-Count"] == "5"
    page = client.get("/api/tasks?limit=2&offset=2", headers=headers)
    assert ids(page) == order[2:4] and page.headers["X-Total-Count"] == "5"
    overdue = client.get("/api/tasks?overdue=true", headers=headers)
    assert ids(overdue) == order[:2] and all(t["overdue"] for t in overdue.json())
    assert ids(client.get("/api/tasks?overdue=false", headers=headers)) == order[2:]
    before = (utcnow() + timedelta(days=2)).isoformat().replace("+00:00", "Z")
    assert ids(client.get(f"/api/tasks?due_before={before}", headers=headers)) == order[:3]


def test_filters_by_benefit_type_kind_status_and_assignee(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    hospital = make_claim()
    hardship = make_claim(benefit_type=BenefitType.SPECIAL_HARDSHIP, payout_fen=200000, required_levels=3)
    headers = login(client, "l1_a")
    assert ids(client.get("/api/tasks?benefit_type=special_hardship", headers=headers)) == [hardship.id]
    assert ids(client.get("/api/tasks?benefit_type=hospitalisation", headers=headers)) == [hospital.id]
    assert ids(client.get("/api/tasks?kind=objection_review", headers=headers)) == []
    taken = task_of(session, hardship.id)
    assert client.post(f"/api/tasks/{taken.id}/take", headers=headers).status_code == 200
    assert ids(client.get("/api/tasks?assigned=me", headers=headers)) == [hardship.id]
    assert ids(client.get("/api/tasks?assigned=nobody", headers=headers)) == [hospital.id]
    colleague = login(client, "l1_a2")
    assert ids(client.get("/api/tasks?assigned=others", headers=colleague)) == [hardship.id]
    assert ids(client.get("/api/tasks?status=taken", headers=colleague)) == [hardship.id]
    assert sorted(ids(client.get("/api/tasks?status=open&status=taken", headers=colleague))) == sorted(
        [hospital.id, hardship.id]
    )
    assert ids(client.get("/api/tasks?status=completed", headers=colleague)) == []


def test_a_county_reviewer_filters_by_unit_inside_their_county_only(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    g11, g12, g21 = make_claim(unit=0), make_claim(unit=1), make_claim(unit=2)
    for claim, reviewer in ((g11, "l1_a"), (g21, "l1_b")):
        task = task_of(session, claim.id)
        body = {"outcome": "approve", "version": task.version}
        assert (
            client.post(f"/api/tasks/{task.id}/decision", json=body, headers=login(client, reviewer)).status_code == 200
        )
    g12_task = task_of(session, g12.id)
    body = {"outcome": "approve", "version": g12_task.version}
    # G12 has no L1 reviewer in the standard world: its unit officer decides as l1 of G12
    from models.users import Role, UserCreate
    from tasks.common.users import create_user
    from tests.factories import PASSWORD

    create_user(session=session, data=UserCreate(username="l1_g12", full_name="g12", password=PASSWORD,
                                                 role=Role.UNIT_OFFICER, org_unit_code="G12"))  # fmt: skip
    session.commit()
    assert (
        client.post(f"/api/tasks/{g12_task.id}/decision", json=body, headers=login(client, "l1_g12")).status_code == 200
    )
    county = login(client, "l2_a")
    assert sorted(ids(client.get("/api/tasks", headers=county))) == sorted([g11.id, g12.id])
    g12_id = world.units[1].id
    assert ids(client.get(f"/api/tasks?org_unit_id={g12_id}", headers=county)) == [g12.id]
    assert ids(client.get(f"/api/tasks?org_unit_id={world.counties[0].id}", headers=county)) != []
    # another county's unit: nothing of it shows, and no error tells it exists
    assert ids(client.get(f"/api/tasks?org_unit_id={world.units[2].id}", headers=county)) == []
    assert client.get("/api/tasks?org_unit_id=999999", headers=county).status_code == 404
    assert ids(client.get("/api/tasks", headers=login(client, "l2_b"))) == [g21.id]


def test_each_level_sees_only_its_own_level(client: TestClient, world: World, make_claim: ClaimMaker) -> None:
    make_claim(payout_fen=600000)
    assert len(client.get("/api/tasks", headers=login(client, "l1_a")).json()) == 1
    for user in ("l2_a", "l3"):
        response = client.get("/api/tasks", headers=login(client, user))
        assert response.json() == [] and response.headers["X-Total-Count"] == "0"


@pytest.mark.parametrize(
    "query",
    ["kind=bogus", "org_unit_id=0", "benefit_type=DROP%20TABLE", "due_before=yesterday", "assigned=everyone",
     "overdue=maybe", "escalated=2"],
)  # fmt: skip
def test_bad_filters_are_422(client: TestClient, world: World, query: str) -> None:
    response = client.get(f"/api/tasks?{query}", headers=login(client, "l1_a"))
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "request_invalid"
