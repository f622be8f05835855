"""The one gate for status changes: allowed moves only, a version check, and an audit event per move (one by
one, and in bulk: exactly one audit row per moved row, copied from the row before it moves)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from models import audit_writer
from models.audit import AuditEvent
from models.base import as_utc, utcnow
from models.enrolments import Enrolment, EnrolmentKind
from models.errors import Conflict, InvalidTransition
from models.members import Member
from models.payments import PaymentBatch
from models.states import SYSTEM, Actor, change_status, change_status_bulk
from models.transitions import TRANSITIONS, sources_of
from models.users import User
from tests.factories import build_world, id_number


def make_batch(session: Session, n: int) -> PaymentBatch:
    world = build_world(session) if n == 0 else None
    year_id = world.policy_year.id if world else session.exec(select(PaymentBatch.policy_year_id)).first()
    batch = PaymentBatch(batch_no=f"B{n}", policy_year_id=year_id or 0)
    session.add(batch)
    session.commit()
    return batch


def test_allowed_move_changes_status_bumps_version_and_audits(session: Session) -> None:
    batch = make_batch(session, 0)
    change_status(session, batch, "exported", actor=Actor(None, "tester"), reason="file written")
    session.commit()
    session.expire_all()
    stored = session.get(PaymentBatch, batch.id)
    assert stored is not None and (stored.status, stored.version) == ("exported", 2)
    event = session.exec(select(AuditEvent).where(AuditEvent.entity_type == "payment_batch")).one()
    assert (event.from_state, event.to_state, event.actor_label, event.reason) == (
        "created",
        "exported",
        "tester",
        "file written",
    )


def test_a_move_the_machine_does_not_allow_is_refused_and_nothing_changes(session: Session) -> None:
    batch = make_batch(session, 0)
    with pytest.raises(InvalidTransition):
        change_status(session, batch, "settled", actor=SYSTEM)
    session.rollback()
    assert session.get(PaymentBatch, batch.id).status == "created"  # type: ignore[union-attr]
    assert session.exec(select(AuditEvent)).all() == []


def test_a_stale_version_is_a_conflict(session: Session, engine) -> None:  # type: ignore[no-untyped-def]
    batch = make_batch(session, 0)
    with Session(engine, expire_on_commit=False) as other:
        theirs = other.get(PaymentBatch, batch.id)
        change_status(other, theirs, "exported", actor=SYSTEM)
        other.commit()
    with pytest.raises(Conflict):
        change_status(session, batch, "exported", actor=SYSTEM)  # still holds version 1
    session.rollback()


def test_bulk_moves_only_rows_in_an_allowed_state(session: Session) -> None:
    first = make_batch(session, 0)
    second = make_batch(session, 1)
    change_status(session, first, "exported", actor=SYSTEM)
    session.commit()
    moved = change_status_bulk(session, PaymentBatch, [first.id or 0, second.id or 0], "exported", actor=SYSTEM)
    session.commit()
    assert moved == [second.id]
    assert first.status == second.status == "exported"  # loaded objects follow the rows
    assert len(session.exec(select(AuditEvent)).all()) == 2


def test_every_target_state_is_reachable_or_initial() -> None:
    for entity, moves in TRANSITIONS.items():
        targets = set().union(*moves.values())
        assert targets <= set(moves), f"{entity}: a target state has no entry of its own"
        for state in targets:
            assert sources_of(entity, state)


def test_the_audit_log_refuses_update_and_delete(session: Session) -> None:
    make_batch(session, 0)
    batch = session.exec(select(PaymentBatch)).one()
    change_status(session, batch, "exported", actor=SYSTEM)
    session.commit()
    for statement in ("UPDATE audit_event SET reason = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError):
            session.execute(text(statement))
        session.rollback()
    assert len(session.exec(select(AuditEvent)).all()) == 1


# The bulk gate on enrolments: several source states, per-row reasons, loaded objects.


def make_enrolments(session: Session, count: int) -> list[Enrolment]:
    """count registered enrolments of the standard world's year (members made directly, at unit G11)."""
    world = build_world(session)
    enrolments = []
    for n in range(count):
        member = Member(
            name=f"职工{n}", id_number=id_number(n), birth_date=date(1980, 5, 17), sex="M",
            employment_status="in_service", org_unit_id=world.units[0].id or 0,
        )  # fmt: skip
        session.add(member)
        session.flush()
        enrolment = Enrolment(
            member_id=member.id or 0, policy_year_id=world.policy_year.id or 0, org_unit_id=world.units[0].id or 0,
            kind=EnrolmentKind.NEW, contribution_fen=9500,
        )  # fmt: skip
        session.add(enrolment)
        enrolments.append(enrolment)
    session.commit()
    return enrolments


def audit_rows(session: Session, entity_type: str = "enrolment") -> list[AuditEvent]:
    return list(
        session.exec(select(AuditEvent).where(AuditEvent.entity_type == entity_type).order_by(col(AuditEvent.id))).all()
    )


def test_bulk_writes_one_exact_audit_row_per_moved_row_and_leaves_other_states_alone(session: Session) -> None:
    e = make_enrolments(session, 6)
    ids = [x.id or 0 for x in e]
    change_status_bulk(session, Enrolment, ids[2:4], "needs_review", actor=SYSTEM, reason="待审")
    change_status_bulk(session, Enrolment, ids[4:5], "ineligible", actor=SYSTEM, reason="不符")
    session.commit()
    before = len(audit_rows(session))
    admin = session.exec(select(User).where(User.username == "admin")).one()
    officer = Actor(admin.id, "officer")
    start = utcnow()

    moved = change_status_bulk(
        session, Enrolment, list(reversed(ids)), "eligible", actor=officer, reason="默认原因",
        reasons={ids[0]: "甲原因", ids[2]: "丙原因"}, action="enrolment.checked",
    )  # fmt: skip
    session.commit()

    assert moved == [ids[0], ids[1], ids[2], ids[3], ids[5]]  # in id order; the ineligible one stays
    events = audit_rows(session)[before:]
    assert sorted(
        (ev.entity_id, ev.from_state, ev.to_state, ev.reason, ev.action, ev.actor_id, ev.actor_label, ev.data)
        for ev in events
    ) == [
        (ids[0], "registered", "eligible", "甲原因", "enrolment.checked", admin.id, "officer", {}),
        (ids[1], "registered", "eligible", "默认原因", "enrolment.checked", admin.id, "officer", {}),
        (ids[2], "needs_review", "eligible", "丙原因", "enrolment.checked", admin.id, "officer", {}),
        (ids[3], "needs_review", "eligible", "默认原因", "enrolment.checked", admin.id, "officer", {}),
        (ids[5], "registered", "eligible", "默认原因", "enrolment.checked", admin.id, "officer", {}),
    ]
    assert len({ev.occurred_at for ev in events}) == 1  # one moment for the whole move
    assert start <= as_utc(events[0].occurred_at) <= utcnow()
    session.expire_all()
    stored = {x.id: (x.status, x.version) for x in session.exec(select(Enrolment)).all()}
    assert stored[ids[4]] == ("ineligible", 2)  # untouched: not a source state of eligible
    assert stored[ids[2]] == ("eligible", 3) and stored[ids[0]] == ("eligible", 2)


def test_bulk_without_reasons_audits_the_default_reason_or_none(session: Session) -> None:
    ids = [x.id or 0 for x in make_enrolments(session, 3)]

    change_status_bulk(session, Enrolment, ids[:2], "eligible", actor=SYSTEM)
    change_status_bulk(session, Enrolment, ids[2:], "ineligible", actor=SYSTEM, reason="年龄不符")
    session.commit()

    assert [(ev.entity_id, ev.from_state, ev.to_state, ev.reason, ev.action) for ev in audit_rows(session)] == [
        (ids[0], "registered", "eligible", None, "enrolment.eligible"),
        (ids[1], "registered", "eligible", None, "enrolment.eligible"),
        (ids[2], "registered", "ineligible", "年龄不符", "enrolment.ineligible"),
    ]


def test_bulk_with_many_distinct_reasons_writes_the_same_rows(session: Session) -> None:
    count = audit_writer.MANY_REASONS + 8  # past the threshold: the rows go in as one executemany
    ids = [x.id or 0 for x in make_enrolments(session, count)]
    reasons = {i: f"原因{n}" for n, i in enumerate(ids)}

    moved = change_status_bulk(session, Enrolment, ids, "ineligible", actor=SYSTEM, reasons=reasons)
    session.commit()

    assert moved == ids
    events = audit_rows(session)
    assert [(ev.entity_id, ev.from_state, ev.to_state, ev.reason, ev.data) for ev in events] == [
        (i, "registered", "ineligible", reasons[i], {}) for i in ids
    ]
    assert len({ev.occurred_at for ev in events}) == 1


def test_bulk_keeps_loaded_objects_in_step_and_sets_values(session: Session) -> None:
    e = make_enrolments(session, 3)
    ids = [x.id or 0 for x in e]
    change_status_bulk(session, Enrolment, [ids[2]], "ineligible", actor=SYSTEM)
    session.commit()
    loaded = [session.get(Enrolment, i) for i in ids]  # in the identity map, not expired

    moved = change_status_bulk(
        session, Enrolment, ids, "needs_review", actor=SYSTEM, reason="待审", values={"reason": "待审"}
    )

    assert moved == ids[:2]
    assert [(x.status, x.version, x.reason) for x in loaded if x] == [
        ("needs_review", 2, "待审"),
        ("needs_review", 2, "待审"),
        ("ineligible", 2, None),
    ]
    assert not any(session.is_modified(x) for x in loaded if x)  # in step with the rows, nothing to flush
    session.commit()
    session.expire_all()
    assert [(x.status, x.version, x.reason) for x in session.exec(select(Enrolment).order_by(col(Enrolment.id)))] == [
        ("needs_review", 2, "待审"),
        ("needs_review", 2, "待审"),
        ("ineligible", 2, None),
    ]


def test_bulk_with_nothing_to_move_writes_nothing(session: Session) -> None:
    ids = [x.id or 0 for x in make_enrolments(session, 2)]

    assert change_status_bulk(session, Enrolment, [], "eligible", actor=SYSTEM) == []
    assert change_status_bulk(session, Enrolment, [ids[0] + 100], "eligible", actor=SYSTEM) == []
    assert change_status_bulk(session, Enrolment, ids, "lapsed", actor=SYSTEM) == []  # active → lapsed only
    session.commit()
    assert audit_rows(session) == []
