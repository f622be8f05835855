"""The bar list: add, lift, ask; audited without ID numbers; and eligibility reads it beside Member.barred."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, col, select

from models.audit import AuditEvent
from models.bar_list import BarListEntry
from models.errors import Conflict, NotFound, ValidationFailed
from models.members import Member
from models.states import Actor
from tasks.common.programmes import create_programme
from tasks.eligibility.bar_list import add_to_bar_list, is_barred, lift_bar
from tasks.eligibility.checks import EligibilityCounts, check_enrolments
from tasks.eligibility.year_rules import BARRED
from tests.factories import World, build_world, id_number
from tests.tasks.eligibility.test_eligibility import register, state

ADMIN = Actor(None, "admin")


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session, year=2040)


def programme_id(world: World) -> int:
    assert world.programme.id is not None
    return world.programme.id


def test_add_lift_and_add_again_keep_one_row_and_audit_each_step(session: Session, world: World) -> None:
    number = id_number(1)
    pid = programme_id(world)
    assert not is_barred(session=session, programme_id=pid, id_number=number)

    entry = add_to_bar_list(session=session, programme_id=pid, id_number=number, reason="伪造发票", actor=ADMIN)
    assert is_barred(session=session, programme_id=pid, id_number=number.lower())  # normalised like rosters
    assert (entry.reason, entry.added_by, entry.lifted_at) == ("伪造发票", "admin", None)

    lift_bar(session=session, programme_id=pid, id_number=number, reason="申诉成立", actor=Actor(None, "l3"))
    assert not is_barred(session=session, programme_id=pid, id_number=number)
    assert entry.lifted_at is not None

    again = add_to_bar_list(session=session, programme_id=pid, id_number=number, reason="再次骗保", actor=ADMIN)
    assert again.id == entry.id and again.lifted_at is None and again.reason == "再次骗保"
    assert is_barred(session=session, programme_id=pid, id_number=number)
    assert len(session.exec(select(BarListEntry)).all()) == 1
    events = session.exec(
        select(AuditEvent).where(AuditEvent.entity_type == "bar_list_entry").order_by(col(AuditEvent.id))
    ).all()
    assert [(e.entity_id, e.action, e.from_state, e.to_state, e.reason, e.actor_label) for e in events] == [
        (entry.id, "bar_list.added", None, "active", "伪造发票", "admin"),
        (entry.id, "bar_list.lifted", "active", "lifted", "申诉成立", "l3"),
        (entry.id, "bar_list.added", "lifted", "active", "再次骗保", "admin"),
    ]
    assert all(number not in str(e.data) and number not in (e.reason or "") for e in events)


def test_refusals(session: Session, world: World) -> None:
    pid = programme_id(world)
    add_to_bar_list(session=session, programme_id=pid, id_number=id_number(1), reason="骗保", actor=ADMIN)

    with pytest.raises(Conflict):
        add_to_bar_list(session=session, programme_id=pid, id_number=id_number(1), reason="骗保", actor=ADMIN)
    with pytest.raises(ValidationFailed, match="校验位"):
        add_to_bar_list(
            session=session, programme_id=pid, id_number=id_number(2)[:17] + "0", reason="骗保", actor=ADMIN
        )
    with pytest.raises(ValidationFailed):
        add_to_bar_list(session=session, programme_id=pid, id_number=id_number(2), reason="  ", actor=ADMIN)
    with pytest.raises(NotFound):
        lift_bar(session=session, programme_id=pid, id_number=id_number(2), reason="", actor=ADMIN)
    assert not is_barred(session=session, programme_id=pid, id_number="not an id number")


def test_a_bar_holds_in_its_own_programme_only(session: Session, world: World) -> None:
    other = create_programme(session=session, code="TA", name="临时救助", owner=world.city)
    add_to_bar_list(
        session=session, programme_id=programme_id(world), id_number=id_number(1), reason="骗保", actor=ADMIN
    )

    assert not is_barred(session=session, programme_id=other.id or 0, id_number=id_number(1))


def test_eligibility_reads_the_bar_list_and_the_member_flag(session: Session, world: World) -> None:
    born = date(1980, 1, 1)
    people = [(born, "在职", "G11")] * 5
    ids = register(session, world, people, start=1)
    numbers = [id_number(1 + i, birth=born) for i in range(5)]
    pid = programme_id(world)
    add_to_bar_list(session=session, programme_id=pid, id_number=numbers[0], reason="骗保", actor=ADMIN)
    add_to_bar_list(session=session, programme_id=pid, id_number=numbers[1], reason="骗保", actor=ADMIN)
    lift_bar(session=session, programme_id=pid, id_number=numbers[1], reason="误列", actor=ADMIN)
    flagged = session.exec(select(Member).where(Member.id_number.in_(numbers[2:4]))).all()  # type: ignore[attr-defined]
    for member in flagged:
        member.barred = True
    add_to_bar_list(session=session, programme_id=pid, id_number=numbers[3], reason="骗保", actor=ADMIN)  # both
    session.flush()

    counts = check_enrolments(session=session, enrolment_ids=ids)

    assert counts == EligibilityCounts(eligible=2, ineligible=3, needs_review=0)
    assert counts.by_reason == {BARRED: 3}
    assert [state(session, i) for i in ids] == [
        ("ineligible", BARRED),  # on the list
        ("eligible", None),  # lifted
        ("ineligible", BARRED),  # Member.barred
        ("ineligible", BARRED),  # both: one reason
        ("eligible", None),
    ]
