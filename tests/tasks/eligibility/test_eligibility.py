"""Automatic eligibility: each configured rule and its boundaries, the human review queue, only registered rows
move, audit events. (The bar list has its own tests in test_bar_list.py.)"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, col, select, update

from models.approvals import ApprovalTask, TaskKind, TaskStatus
from models.audit import AuditEvent
from models.enrolments import Enrolment, EnrolmentKind
from models.errors import ValidationFailed
from models.members import Member
from models.org import OrgLevel, OrgUnit
from models.rules import PolicyRules
from models.states import Actor
from tasks.common.orgs import create_org_unit
from tasks.common.programmes import open_policy_year
from tasks.eligibility.age import SHANGHAI, age_on, reference_day
from tasks.eligibility.checks import EligibilityCounts, check_enrolments, pending_enrolment_ids
from tasks.registration.roster_import import import_roster
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
    # reviewed by the county's own reviewers: the level of the unit it was made at, inside its subtree
    assert (task.kind, task.enrolment_id, task.level, task.org_unit_id) == (
        TaskKind.ELIGIBILITY_REVIEW,
        enrolment.id,
        2,
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


# Each rule from the year's configuration.


def register(session: Session, world: World, people: list[tuple[date, str, str]], *, start: int = 100) -> list[int]:
    """Members and registered enrolments of the world's year for (birth, 在职/退休, unit code); enrolment ids.

    Made directly rather than through a roster, because a roster refuses units that are not grassroots
    (an individual enrolment at a county union is how needs-review cases arise).
    """
    units = {u.code: u.id for u in session.exec(select(OrgUnit)).all()}
    ids = []
    for i, (birth, status, unit) in enumerate(people):
        member = Member(
            name=f"人{chr(0x4E00 + start + i)}", id_number=id_number(start + i, birth=birth), birth_date=birth,
            sex="M", employment_status={"在职": "in_service", "退休": "retired"}[status], org_unit_id=units[unit],
        )  # fmt: skip
        session.add(member)
        session.flush()
        enrolment = Enrolment(
            member_id=member.id, policy_year_id=world.policy_year.id, org_unit_id=units[unit],
            kind=EnrolmentKind.NEW, contribution_fen=9500,
        )  # fmt: skip
        session.add(enrolment)
        session.flush()
        ids.append(enrolment.id or 0)
    return ids


def decide(session: Session, ids: list[int]) -> list[tuple[str, str | None]]:
    check_enrolments(session=session, enrolment_ids=ids)
    return [state(session, i) for i in ids]


def test_the_region_is_the_subtrees_of_the_configured_org_units(session: Session) -> None:
    world = build_world(session, year=2040, rules=PolicyRules(region_org_codes=("X01", "G21")))
    ids = register(
        session,
        world,
        [(date(1980, 1, 1), "在职", u) for u in ("G11", "G12", "G21", "G22")] + [(date(1980, 1, 1), "在职", "X02")],
    )

    assert decide(session, ids) == [
        ("eligible", None),
        ("eligible", None),
        ("eligible", None),
        ("ineligible", "不属于本项目地区"),  # G22 sits under X02, which is not in the region
        ("ineligible", "不属于本项目地区"),  # X02 itself: outside, so not a question for a reviewer either
    ]


def test_an_unknown_region_code_is_refused_and_nothing_moves(session: Session) -> None:
    world = build_world(session, year=2040, rules=PolicyRules(region_org_codes=("X01", "NOPE")))
    ids = register(session, world, [(date(1980, 1, 1), "在职", "G11")])
    session.commit()

    with pytest.raises(ValidationFailed, match="NOPE"):
        check_enrolments(session=session, enrolment_ids=ids)
    session.rollback()
    assert state(session, ids[0]) == ("registered", None)
    assert session.exec(select(AuditEvent)).all() == []


def test_employment_statuses_come_from_the_rules(session: Session) -> None:
    world = build_world(session, year=2040, rules=PolicyRules(employment_statuses=("retired",)))
    ids = register(session, world, [(date(1980, 1, 1), "在职", "G11"), (date(1980, 1, 1), "退休", "G11")])

    assert decide(session, ids) == [("ineligible", "在职状态不符合参加条件"), ("eligible", None)]


def test_age_limits_are_inclusive_on_the_reference_day(session: Session) -> None:
    world = build_world(session, year=2040, rules=PolicyRules(age_min=18, age_max=60))  # taken on 2040-01-01
    births = [
        date(2022, 1, 1),  # 18 that very day: in
        date(2022, 1, 2),  # 18 tomorrow: out
        date(1980, 1, 1),  # 60 that very day: in
        date(1979, 1, 2),  # 61 tomorrow, still 60: in
        date(1979, 1, 1),  # 61 that very day: out
    ]
    ids = register(session, world, [(b, "在职", "G11") for b in births])

    assert [s for s, _ in decide(session, ids)] == ["eligible", "ineligible", "eligible", "eligible", "ineligible"]
    assert state(session, ids[1])[1] == "年龄不在18-60周岁范围内"


def set_registered_at(session: Session, ids: list[int], moments: list[datetime]) -> None:
    for enrolment_id, moment in zip(ids, moments, strict=True):
        session.exec(update(Enrolment).where(col(Enrolment.id) == enrolment_id).values(registered_at=moment))  # type: ignore[call-overload]
    session.flush()


def test_age_is_taken_on_the_shanghai_registration_day_29_february_included(session: Session) -> None:
    world = build_world(session, year=2026, rules=PolicyRules(age_min=18, age_max=75))
    leap_born = date(2008, 2, 29)  # 18 on 1 March 2026 (no 29 February that year)
    ids = register(session, world, [(leap_born, "在职", "G11")] * 3 + [(date(2008, 3, 1), "在职", "G11")])
    set_registered_at(
        session,
        ids,
        [
            datetime(2026, 2, 28, 15, 59, tzinfo=UTC),  # 23:59 on 28 February in Shanghai: still 17
            datetime(2026, 2, 28, 16, 0, tzinfo=UTC),  # 00:00 on 1 March in Shanghai: 18
            datetime(2026, 3, 1, 3, 0, tzinfo=UTC),
            datetime(2026, 2, 28, 16, 0, tzinfo=UTC),  # born 1 March 2008: 18 on 1 March too
        ],
    )

    assert [s for s, _ in decide(session, ids)] == ["ineligible", "eligible", "eligible", "eligible"]


def test_the_sql_age_is_exactly_age_on_for_a_sweep_of_dates(session: Session) -> None:
    rules = PolicyRules(age_min=16, age_max=20)
    world = build_world(session, year=2024, rules=rules)  # a leap year, starting 2024-01-01
    references = [date(2024, 1, 1), date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1), date(2024, 12, 31)]
    around = [-1, 0, 1]
    people: list[tuple[date, datetime]] = []
    for ref in references:
        for years in (16, 21):
            for shift in around:
                birth = _years_before(ref, years) + timedelta(days=shift)
                moment = datetime.combine(ref, datetime.min.time(), tzinfo=SHANGHAI).astimezone(UTC)
                people.append((birth, moment + timedelta(hours=12)))
    people.append((date(2004, 2, 29), datetime(2023, 12, 31, 20, tzinfo=UTC)))  # registered before the start
    ids = register(session, world, [(birth, "在职", "G11") for birth, _ in people])
    set_registered_at(session, ids, [moment for _, moment in people])

    outcomes = [s for s, _ in decide(session, ids)]

    expected = [
        "eligible"
        if rules.age_min <= age_on(birth, reference_day(moment, world.policy_year.starts_on)) <= rules.age_max
        else "ineligible"
        for birth, moment in people
    ]
    assert outcomes == expected
    assert set(expected) == {"eligible", "ineligible"}


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def test_counts_per_reason_and_the_policy_year_the_caller_names(session: Session) -> None:
    world = build_world(session, year=2040)
    ids = register(
        session,
        world,
        [(date(1980, 1, 1), "在职", "G11"), (date(1930, 1, 1), "在职", "G11"), (date(1930, 1, 2), "退休", "X01")],
    )

    assert check_enrolments(session=session, enrolment_ids=ids, policy_year_id=(world.policy_year.id or 0) + 1) == (
        EligibilityCounts(0, 0, 0)
    )  # another year: nothing of this one is decided
    counts = check_enrolments(session=session, enrolment_ids=ids, policy_year_id=world.policy_year.id)

    assert counts == EligibilityCounts(eligible=1, ineligible=2, needs_review=0)
    assert counts.by_reason == {"年龄不在16-75周岁范围内": 2}


def test_one_chunk_across_two_years_uses_each_years_rules(session: Session) -> None:
    world = build_world(session, year=2040, rules=PolicyRules(age_max=60))
    later = open_policy_year(session=session, programme=world.programme, year=2041, rules=PolicyRules(age_max=70))
    first = register(session, world, [(date(1975, 6, 1), "在职", "G11")])  # 64 on 2040-01-01
    world.policy_year = later
    second = register(session, world, [(date(1975, 6, 2), "在职", "G11")], start=200)  # 65 on 2041-01-01

    assert decide(session, first + second) == [("ineligible", "年龄不在16-60周岁范围内"), ("eligible", None)]


def test_needs_review_counts_and_reason(session: Session) -> None:
    world = build_world(session, year=2040)
    ids = register(session, world, [(date(1980, 1, 1), "在职", "X01"), (date(1930, 1, 1), "在职", "X01")])

    counts = check_enrolments(session=session, enrolment_ids=ids)

    assert counts == EligibilityCounts(eligible=0, ineligible=1, needs_review=1)
    assert counts.by_reason == {"登记单位不是基层工会，需人工审核": 1, "年龄不在16-75周岁范围内": 1}
    assert state(session, ids[0]) == ("needs_review", "登记单位不是基层工会，需人工审核")
    task = session.exec(select(ApprovalTask)).one()  # only the undecidable one gets a task
    assert (task.enrolment_id, task.org_unit_id, task.status) == (ids[0], world.counties[0].id, TaskStatus.OPEN)
    event = session.exec(select(AuditEvent).where(AuditEvent.entity_id == ids[0])).one()
    assert (event.from_state, event.to_state, event.reason) == (
        "registered",
        "needs_review",
        "登记单位不是基层工会，需人工审核",
    )
