"""Automatic eligibility: each reason, the human review queue, only registered rows move, audit events."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from models.approvals import ApprovalTask, TaskKind, TaskStatus
from models.audit import AuditEvent
from models.enrolments import Enrolment, EnrolmentKind
from models.members import Member
from models.org import OrgLevel
from models.rules import PolicyRules
from models.states import Actor
from tasks.eligibility import EligibilityCounts, check_enrolments, pending_enrolment_ids
from tasks.orgs import create_org_unit
from tasks.registration import import_roster
from tests.factories import World, build_world, id_number

HEADER = "姓名,身份证号,手机号,在职状态,单位,银行卡号,开户银行"


def enrol(session: Session, world: World, *lines: tuple[str, date, str, str]) -> dict[str, int]:
    """Import (name, birth, status, unit) lines; return name → enrolment id."""
    text = "\n".join(
        [HEADER]
        + [
            f"{name},{id_number(i, birth=birth)},,{status},{unit},,"
            for i, (name, birth, status, unit) in enumerate(lines)
        ]
    )
    report = import_roster(session=session, policy_year=world.policy_year, data=text.encode(), importer_scope_path=None)
    assert report.errors == []
    rows = session.exec(select(Member.name, Enrolment.id).join(Enrolment, col(Enrolment.member_id) == Member.id)).all()
    return dict(rows)


def state(session: Session, enrolment_id: int) -> tuple[str, str | None]:
    session.expire_all()
    enrolment = session.get(Enrolment, enrolment_id)
    assert enrolment is not None
    return enrolment.status, enrolment.reason


def test_each_reason_with_the_configured_limits(session: Session) -> None:
    rules = PolicyRules(age_min=18, age_max=60, employment_statuses=("in_service",))
    world = build_world(session, year=2040, rules=rules)  # ages are taken on 2040-01-01, the year's start
    other_city = create_org_unit(session=session, code="C99", name="邻市总工会", level=OrgLevel.CITY)
    outside = create_org_unit(
        session=session, code="G99", name="邻市某单位工会", level=OrgLevel.GRASSROOTS, parent=other_city
    )
    ids = enrol(
        session,
        world,
        ("甲", date(1980, 1, 1), "在职", "G11"),
        ("乙", date(1979, 12, 31), "在职", "G12"),  # 60 on the day: still in range
        ("丙", date(1978, 1, 1), "在职", "G21"),  # 62
        ("丁", date(2022, 1, 2), "在职", "G21"),  # 17
        ("戊", date(1990, 1, 1), "退休", "G22"),
        ("己", date(1990, 1, 1), "在职", outside.code),
        ("庚", date(1990, 1, 1), "在职", "G11"),
        ("辛", date(1978, 1, 1), "退休", "G11"),  # two reasons
    )
    session.exec(select(Member).where(Member.name == "庚")).one().barred = True
    session.flush()

    counts = check_enrolments(session=session, enrolment_ids=list(ids.values()))

    assert counts == EligibilityCounts(eligible=2, ineligible=6, needs_review=0)
    assert state(session, ids["甲"]) == ("eligible", None)
    assert state(session, ids["乙"]) == ("eligible", None)
    assert state(session, ids["丙"]) == ("ineligible", "年龄不在18-60周岁范围内")
    assert state(session, ids["丁"]) == ("ineligible", "年龄不在18-60周岁范围内")
    assert state(session, ids["戊"]) == ("ineligible", "在职状态不符合参加条件")
    assert state(session, ids["己"]) == ("ineligible", "不属于本项目地区")
    assert state(session, ids["庚"]) == ("ineligible", "因骗保被取消资格")
    assert state(session, ids["辛"]) == ("ineligible", "在职状态不符合参加条件；年龄不在18-60周岁范围内")


def test_default_limits_and_age_taken_on_registration_day_when_later(session: Session) -> None:
    world = build_world(session, year=2020)  # the year has started: age is taken on the registration day
    ids = enrol(
        session,
        world,
        ("甲", date(1945, 6, 1), "退休", "G11"),  # 74 on 2020-01-01, over 75 by the time of registration
        ("乙", date(1970, 6, 1), "退休", "G11"),
    )
    counts = check_enrolments(session=session, enrolment_ids=list(ids.values()))

    assert counts == EligibilityCounts(eligible=1, ineligible=1, needs_review=0)
    assert state(session, ids["甲"]) == ("ineligible", "年龄不在16-75周岁范围内")


def test_a_unit_that_is_not_grassroots_needs_review(session: Session) -> None:
    world = build_world(session)
    imported = enrol(session, world, ("甲", date(1980, 1, 1), "在职", "G11"))["甲"]
    county = world.counties[1]
    # an individual enrolment made at a county union: the rules cannot decide it
    enrolment = Enrolment(
        member_id=session.exec(select(Member.id)).one(),
        policy_year_id=world.policy_year.id,
        org_unit_id=county.id,
        kind=EnrolmentKind.NEW,
        contribution_fen=9500,
    )
    session.delete(session.get(Enrolment, imported))
    session.flush()
    session.add(enrolment)
    session.flush()

    counts = check_enrolments(session=session, enrolment_ids=[enrolment.id])

    assert counts == EligibilityCounts(eligible=0, ineligible=0, needs_review=1)
    assert state(session, enrolment.id)[0] == "needs_review"
    task = session.exec(select(ApprovalTask)).one()
    assert (task.kind, task.enrolment_id, task.level, task.org_unit_id) == (
        TaskKind.ELIGIBILITY_REVIEW,
        enrolment.id,
        1,
        county.id,
    )
    assert task.status == TaskStatus.OPEN and task.claim_id is None


def test_only_registered_rows_move_and_each_move_is_audited(session: Session) -> None:
    world = build_world(session)
    ids = enrol(
        session,
        world,
        ("甲", date(1980, 1, 1), "在职", "G11"),
        ("乙", date(1930, 1, 1), "退休", "G11"),
        ("丙", date(1980, 1, 1), "在职", "G11"),
    )
    officer = Actor(world.user("admin").id, "admin")
    first = check_enrolments(session=session, enrolment_ids=[ids["甲"], ids["乙"]], actor=officer)
    again = check_enrolments(session=session, enrolment_ids=list(ids.values()))

    assert first == EligibilityCounts(eligible=1, ineligible=1, needs_review=0)
    assert again == EligibilityCounts(eligible=1, ineligible=0, needs_review=0)  # only 丙 was still registered
    assert check_enrolments(session=session, enrolment_ids=list(ids.values())) == EligibilityCounts(0, 0, 0)
    events = session.exec(
        select(AuditEvent).where(AuditEvent.entity_type == "enrolment").order_by(col(AuditEvent.id))
    ).all()
    assert [(e.entity_id, e.from_state, e.to_state) for e in events] == [
        (ids["甲"], "registered", "eligible"),
        (ids["乙"], "registered", "ineligible"),
        (ids["丙"], "registered", "eligible"),
    ]
    assert events[1].reason == "年龄不在16-75周岁范围内"
    assert (events[0].actor_id, events[0].actor_label) == (officer.user_id, "admin")
    assert (events[2].actor_id, events[2].actor_label) == (None, "system")
    assert state(session, ids["甲"]) == ("eligible", None)


def test_pending_ids_come_in_chunks(session: Session) -> None:
    world = build_world(session)
    ids = sorted(
        enrol(session, world, *[(f"人{'甲乙丙丁戊'[i]}", date(1980, 1, 1), "在职", "G11") for i in range(5)]).values()
    )
    year_id = world.policy_year.id
    assert year_id is not None

    first = pending_enrolment_ids(session=session, policy_year_id=year_id, limit=2)
    second = pending_enrolment_ids(session=session, policy_year_id=year_id, after_id=first[-1], limit=2)
    assert first + second == ids[:4]
    check_enrolments(session=session, enrolment_ids=ids[:2])
    assert pending_enrolment_ids(session=session, policy_year_id=year_id) == ids[2:]
