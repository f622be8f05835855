"""Deadlines in working days (DOMAIN 2.7) with a holiday in the way: the due and escalation moments, the
sweep's reminder, then its escalation to the level's supervisor; notifications, audit and the supervisor's
powers over a task somebody else holds."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import Session, col, select

from models.approvals import ApprovalTask
from models.audit import AuditEvent, OutboxMessage
from models.base import as_utc
from models.claims import Claim
from models.rules import PolicyRules
from models.states import Actor
from models.users import Role, UserCreate
from tasks.approval.deadlines import escalate_overdue, remind_overdue
from tasks.approval.routing import open_task
from tasks.common.programmes import change_rules
from tasks.common.users import create_user
from tasks.common.workdays import SHANGHAI, Calendar, task_deadlines
from tests.api.conftest import ClaimMaker, fresh, login
from tests.factories import PASSWORD, World

# National Day 2026: Oct 1-7 off; Sunday Sep 27 and Saturday Oct 10 are worked instead (调休上班).
NATIONAL_DAY = tuple(date(2026, 10, d) for d in range(1, 8))
MAKE_UP = (date(2026, 9, 27), date(2026, 10, 10))
OPENED = datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI)  # a Wednesday morning, the eve of the holiday
SWEEPER = Actor(None, "flow:deadline-sweep")


def shanghai(month: int, day: int, hour: int = 23, minute: int = 59, second: int = 59) -> datetime:
    """A Shanghai wall-clock moment in 2026, as aware UTC."""
    return datetime(2026, month, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)


def test_the_calendar_skips_weekends_and_holidays_and_counts_make_up_days() -> None:
    plain = Calendar()
    national = Calendar.of(NATIONAL_DAY, MAKE_UP)
    assert plain.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 5)  # Thu, Fri, (weekend), Mon
    assert national.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)  # Oct 8, 9, and Saturday the 10th
    assert national.is_working_day(date(2026, 9, 27)) and not national.is_working_day(date(2026, 10, 5))
    assert national.add_working_days(date(2026, 9, 25), 1) == date(2026, 9, 27)  # the make-up Sunday counts
    assert plain.end_of_working_day(OPENED, 0) == shanghai(9, 30)


def test_a_day_cannot_be_both_a_holiday_and_a_working_day() -> None:
    with pytest.raises(ValidationError, match="both a holiday and a working day"):
        PolicyRules(holidays=(date(2026, 10, 1),), extra_workdays=(date(2026, 10, 1),))


def test_due_and_escalation_moments_come_from_the_years_calendar() -> None:
    rules = PolicyRules(holidays=NATIONAL_DAY, extra_workdays=MAKE_UP)
    # L1: 3 working days; escalated 2 working days later (default)
    assert task_deadlines(rules, 1, OPENED) == (shanghai(10, 10), shanghai(10, 13))
    # L2: 5 working days: Oct 8, 9, 10, 12, 13
    assert task_deadlines(rules, 2, OPENED) == (shanghai(10, 13), shanghai(10, 15))
    assert task_deadlines(PolicyRules(), 2, OPENED) == (shanghai(10, 7), shanghai(10, 9))


@pytest.fixture
def national_day(session: Session, world: World) -> World:
    """The world's 2026 rules with the National Day holiday and its make-up working days."""
    rules = PolicyRules(holidays=NATIONAL_DAY, extra_workdays=MAKE_UP)
    change_rules(session=session, policy_year=world.policy_year, rules=rules, actor=Actor(None, "test"))
    session.commit()
    return world


def level2_task(session: Session, make_claim: ClaimMaker) -> ApprovalTask:
    """A county (L2) task opened on the eve of the holiday, for a claim of unit G11 under X01."""
    claim = make_claim()
    stored = session.get(Claim, claim.id)
    assert stored is not None
    task = open_task(session=session, claim=stored, level=2, now=OPENED)
    session.commit()
    return task


def supervisor(session: Session, username: str, org: str, role: Role = Role.COUNTY_REVIEWER) -> int:
    """A reviewer who supervises their level at org; their user id."""
    user = create_user(
        session=session,
        data=UserCreate(username=username, full_name=username, password=PASSWORD, role=role, org_unit_code=org,
                        is_supervisor=True),
    )  # fmt: skip
    session.commit()
    assert user.id is not None
    return user.id


def sweep(session: Session, as_of: datetime) -> tuple[int, int]:
    """Remind, then escalate, as the deadline-sweep flow does; committed."""
    reminded = remind_overdue(session=session, as_of=as_of, actor=SWEEPER)
    escalated = escalate_overdue(session=session, as_of=as_of, actor=SWEEPER)
    session.commit()
    return reminded, escalated


def test_reminder_then_escalation_with_a_holiday_in_the_way(
    client: TestClient, session: Session, national_day: World, make_claim: ClaimMaker
) -> None:
    boss = supervisor(session, "x01_chief", "X01")
    task = level2_task(session, make_claim)
    assert (task.due_at, task.escalate_at) == (shanghai(10, 13), shanghai(10, 15))
    # Without the holiday this task would be two days overdue by now; with it, nothing happens.
    assert sweep(session, shanghai(10, 9, 12, 0)) == (0, 0)
    # Due at the end of Oct 13: reminded on the 14th, once; the county group is told (nobody holds it).
    assert sweep(session, shanghai(10, 14, 9, 0)) == (1, 0)
    assert sweep(session, shanghai(10, 14, 15, 0)) == (0, 0)
    notes = client.get("/api/notifications", headers=login(client, "l2_a")).json()
    assert [(n["kind"], n["task_id"], n["to_me"]) for n in notes] == [("task_overdue", task.id, False)]
    assert client.get("/api/notifications", headers=login(client, "l2_b")).json() == []  # the other county
    # Two more working days (14th, 15th) without a decision: escalated on the 16th to the supervisor.
    assert sweep(session, shanghai(10, 15, 20, 0)) == (0, 0)
    assert sweep(session, shanghai(10, 16, 8, 0)) == (0, 1)
    stored = fresh(session, ApprovalTask, task.id or 0)
    assert stored.escalated_to_id == boss and stored.status == "open"
    boss_notes = client.get("/api/notifications", headers=login(client, "x01_chief")).json()
    assert [(n["kind"], n["to_me"]) for n in boss_notes] == [("task_escalated", True), ("task_overdue", False)]
    assert sweep(session, shanghai(10, 20)) == (0, 0)  # nothing twice
    # the supervisor finds it in their queue, and the history records both steps
    escalated = client.get("/api/tasks?escalated=true", headers=login(client, "x01_chief")).json()
    assert [(t["id"], t["overdue"], t["escalated_to_id"]) for t in escalated] == [(task.id, True, boss)]
    history = client.get(f"/api/tasks/{task.id}/history", headers=login(client, "x01_chief")).json()
    assert [e["action"] for e in history] == ["task.reminded", "task.escalated"]
    assert history[1]["actor_label"] == "flow:deadline-sweep" and history[1]["data"] == {"supervisor_id": boss}
    topics = session.exec(select(OutboxMessage.topic).order_by(col(OutboxMessage.id).desc())).first()
    session.commit()
    assert topics == "TaskEscalated"


def test_a_taken_task_reminds_its_holder(
    client: TestClient, session: Session, national_day: World, make_claim: ClaimMaker
) -> None:
    task = level2_task(session, make_claim)
    assert client.post(f"/api/tasks/{task.id}/take", headers=login(client, "l2_a2")).status_code == 200
    sweep(session, shanghai(10, 14, 9, 0))
    assert [n["to_me"] for n in client.get("/api/notifications", headers=login(client, "l2_a2")).json()] == [True]
    assert client.get("/api/notifications", headers=login(client, "l2_a")).json() == []


def test_escalation_goes_to_the_nearest_supervisor_of_the_level(
    session: Session, national_day: World, make_claim: ClaimMaker
) -> None:
    city_level2 = supervisor(session, "city_l2_chief", "C01")  # an L2 supervisor above every county
    first = level2_task(session, make_claim)
    sweep(session, shanghai(10, 16, 8, 0))
    assert fresh(session, ApprovalTask, first.id or 0).escalated_to_id == city_level2
    nearer = supervisor(session, "x01_chief", "X01")
    supervisor(session, "x01_l1_chief", "G11", Role.UNIT_OFFICER)  # another level: never chosen for L2
    second = level2_task(session, make_claim)
    sweep(session, shanghai(10, 16, 8, 0))
    assert fresh(session, ApprovalTask, second.id or 0).escalated_to_id == nearer


def test_without_a_supervisor_the_escalation_goes_to_the_reviewer_group(
    client: TestClient, session: Session, national_day: World, make_claim: ClaimMaker
) -> None:
    task = level2_task(session, make_claim)
    assert sweep(session, shanghai(10, 16, 8, 0)) == (1, 1)
    assert fresh(session, ApprovalTask, task.id or 0).escalated_to_id is None
    notes = client.get("/api/notifications", headers=login(client, "l2_a")).json()
    assert notes[0]["kind"] == "task_escalated" and "未设督办主管" in notes[0]["message"]
    events = session.exec(
        select(AuditEvent.action).where(AuditEvent.entity_type == "approval_task", AuditEvent.entity_id == task.id)
    ).all()
    session.commit()
    assert sorted(events) == ["task.escalated", "task.reminded"]


def test_a_supervisor_takes_a_task_back_from_its_holder(
    client: TestClient, session: Session, world: World, make_claim: ClaimMaker
) -> None:
    supervisor(session, "x01_chief", "X01")
    task = level2_task(session, make_claim)
    assert client.post(f"/api/tasks/{task.id}/take", headers=login(client, "l2_a")).status_code == 200
    # a colleague cannot release it; the supervisor can, and it is audited with the reason
    assert client.post(f"/api/tasks/{task.id}/release", headers=login(client, "l2_a2")).status_code == 409
    released = client.post(f"/api/tasks/{task.id}/release", headers=login(client, "x01_chief"))
    assert released.status_code == 200 and released.json()["status"] == "open"
    assert released.json()["assignee_id"] is None
    history = client.get(f"/api/tasks/{task.id}/history", headers=login(client, "l2_a2")).json()
    assert history[-1]["reason"] == "督办主管收回任务" and history[-1]["actor_label"] == "x01_chief"
    # and a supervisor of another county sees nothing of it
    supervisor(session, "x02_chief", "X02")
    assert client.post(f"/api/tasks/{task.id}/release", headers=login(client, "x02_chief")).status_code == 404


def test_only_reviewers_can_be_supervisors(session: Session, world: World) -> None:
    from models.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="督办主管"):
        create_user(
            session=session,
            data=UserCreate(username="fin_chief", full_name="f", password=PASSWORD, role=Role.FINANCE,
                            is_supervisor=True),
        )  # fmt: skip
    session.rollback()


def test_deadlines_are_fixed_when_the_task_opens(session: Session, world: World, make_claim: ClaimMaker) -> None:
    """A holiday added to the rules later does not move the moments of tasks already open."""
    task = level2_task(session, make_claim)
    before = (task.due_at, task.escalate_at)
    change_rules(session=session, policy_year=world.policy_year, rules=PolicyRules(holidays=NATIONAL_DAY),
                 actor=Actor(None, "test"))  # fmt: skip
    session.commit()
    stored = fresh(session, ApprovalTask, task.id or 0)
    assert stored.due_at is not None and stored.escalate_at is not None
    assert (as_utc(stored.due_at), as_utc(stored.escalate_at)) == before == (shanghai(10, 7), shanghai(10, 9))
