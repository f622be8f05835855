"""Renewal over HTTP: carry a unit's active members over to the next year, and the list of who is due."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from models.enrolments import Enrolment, EnrolmentKind, EnrolmentStatus
from models.programmes import PolicyYear
from tasks.common.masking import mask_id_number
from tasks.common.programmes import open_policy_year
from tests.api.conftest import enrol, login
from tests.factories import World, id_number

BODY = {"programme_code": "MA", "from_year": 2026, "to_year": 2027}


@pytest.fixture
def next_year(session: Session, world: World) -> PolicyYear:
    """Three active members at G11 and one at G12 in 2026, one registered but unpaid at G11; 2027 opened."""
    enrol(session, world, range(1, 4), unit=0, paid_on=date(2025, 12, 1))
    enrol(session, world, range(4, 5), unit=1, paid_on=date(2025, 12, 1))
    enrol(session, world, range(5, 6), unit=0)  # eligible, never paid: not due, not carried over
    following = open_policy_year(session=session, programme=world.programme, year=2027)
    session.commit()
    return following


def renew(client: TestClient, username: str | None, unit: str = "G11", **body: Any) -> Any:
    headers = login(client, username) if username else {}
    return client.post(f"/api/units/{unit}/renewal", json=BODY | body, headers=headers)


def due(client: TestClient, username: str | None, unit: str = "G11", **params: Any) -> Any:
    headers = login(client, username) if username else {}
    query = {"programme_code": "MA", "year": 2026} | params
    return client.get(f"/api/units/{unit}/renewal-due", params=query, headers=headers)


def renewals(session: Session, year: PolicyYear) -> list[Enrolment]:
    found = session.exec(select(Enrolment).where(Enrolment.policy_year_id == year.id)).all()
    session.commit()
    return list(found)


@pytest.mark.parametrize("username", ["admin", "l1_a"])
def test_renewal_carries_active_members_over_once(
    client: TestClient, world: World, session: Session, next_year: PolicyYear, username: str
) -> None:
    response = renew(client, username)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "unit_code": "G11",
        "programme_code": "MA",
        "from_year": 2026,
        "to_year": 2027,
        "carried_over": 3,
    }
    carried = renewals(session, next_year)
    assert {(e.kind, e.status, e.org_unit_id) for e in carried} == {
        (EnrolmentKind.RENEWAL, EnrolmentStatus.REGISTERED, world.units[0].id)
    }
    assert renew(client, username).json()["carried_over"] == 0
    assert len(renewals(session, next_year)) == 3


def test_renewal_due_list_is_masked_and_paged(
    client: TestClient, world: World, session: Session, next_year: PolicyYear
) -> None:
    response = due(client, "l1_a", limit=2)
    assert response.status_code == 200, response.text
    page = response.json()
    assert (page["unit_code"], page["total"], page["limit"], page["offset"]) == ("G11", 3, 2, 0)
    assert [m["id_number_masked"] for m in page["items"]] == [mask_id_number(id_number(n)) for n in (1, 2)]
    first = page["items"][0]
    assert first["id_number_masked"].startswith(id_number(1)[:3]) and first["id_number_masked"].endswith(
        id_number(1)[-2:]
    )
    assert first["id_number_masked"].count("*") == 13
    assert (first["employment_status"], first["employment_status_label"]) == ("retired", "退休")
    assert first["name"] == "会员丁" and set(first) == {
        "member_id",
        "name",
        "id_number_masked",
        "employment_status",
        "employment_status_label",
    }
    rest = due(client, "admin", limit=2, offset=2).json()
    assert [m["id_number_masked"] for m in rest["items"]] == [mask_id_number(id_number(3))]
    english = client.get(
        "/api/units/G11/renewal-due",
        params={"programme_code": "MA", "year": 2026},
        headers=login(client, "auditor") | {"Accept-Language": "en"},
    ).json()
    assert english["items"][1]["employment_status_label"] == "In service"
    for n in range(1, 6):
        assert id_number(n) not in response.text + str(rest) + str(english)

    renew(client, "admin")
    assert due(client, "admin").json()["total"] == 0
    assert due(client, "admin", unit="G12").json()["total"] == 1


def test_renewal_needs_a_sign_in(client: TestClient, world: World, next_year: PolicyYear) -> None:
    assert renew(client, None).status_code == 401
    assert due(client, None).status_code == 401


@pytest.mark.parametrize("username", ["l1_b", "finance", "auditor", "l2_a", "l3"])
def test_renewal_by_anyone_else_is_403(
    client: TestClient, world: World, session: Session, next_year: PolicyYear, username: str
) -> None:
    assert renew(client, username).status_code == 403
    assert renewals(session, next_year) == []


@pytest.mark.parametrize("username", ["l1_b", "finance", "l2_a"])
def test_due_list_of_another_unit_is_403(
    client: TestClient, world: World, next_year: PolicyYear, username: str
) -> None:
    assert due(client, username).status_code == 403


def test_unknown_unit_or_year_is_404(client: TestClient, world: World, next_year: PolicyYear) -> None:
    assert renew(client, "admin", unit="NOPE").status_code == 404
    assert renew(client, "admin", to_year=2028).status_code == 404
    assert renew(client, "admin", programme_code="NOPE").status_code == 404
    assert due(client, "admin", unit="NOPE").status_code == 404
    assert due(client, "admin", year=2025).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"to_year": 2026},
        {"to_year": 2025},
        {"from_year": "abc"},
        {"programme_code": ""},
        {"programme_code": "M A"},
        {"extra": 1},
    ],
    ids=["same-year", "earlier-year", "bad-year", "empty-programme", "bad-programme", "extra-field"],
)
def test_bad_renewal_requests_are_422(
    client: TestClient, world: World, session: Session, next_year: PolicyYear, body: dict[str, Any]
) -> None:
    response = renew(client, "admin", **body)
    assert response.status_code == 422, response.text
    assert session.exec(select(func.count()).select_from(Enrolment)).one() == 5


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"offset": -1}, {"year": "x"}])
def test_bad_due_list_queries_are_422(
    client: TestClient, world: World, next_year: PolicyYear, params: dict[str, Any]
) -> None:
    assert due(client, "admin", **params).status_code == 422


def test_due_list_needs_a_programme(client: TestClient, world: World) -> None:
    response = client.get("/api/units/G11/renewal-due", params={"year": 2026}, headers=login(client, "admin"))
    assert response.status_code == 422
