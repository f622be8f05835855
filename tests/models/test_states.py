"""The one gate for status changes: allowed moves only, a version check, and an audit event per move."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from models.audit import AuditEvent
from models.errors import Conflict, InvalidTransition
from models.payments import PaymentBatch
from models.states import SYSTEM, TRANSITIONS, Actor, change_status, change_status_bulk, sources_of
from tests.factories import build_world


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
