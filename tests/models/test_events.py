"""Domain events: typed, past-tense, stored in the outbox through the gate, read back the way they were written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, col, select

from models.audit import AuditEvent, OutboxMessage
from models.events import (
    ClaimApproved,
    ClaimRejected,
    ClaimReturned,
    DomainEvent,
    MalformedEvent,
    ObjectionDismissed,
    ObjectionRaised,
    ObjectionUpheld,
    TaskEscalated,
    event_of,
)
from models.states import Actor, emit, emit_all, record, record_all

AT = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)
ACTOR = Actor(None, "flow:deadline-sweep")  # a flow: no user row needed


def test_every_topic_is_a_past_tense_event_class_and_shared_bases_are_no_topic() -> None:
    topics = set(DomainEvent.registry)
    assert topics == {
        "ClaimApproved", "ClaimRejected", "ClaimReturned", "ObjectionRaised", "ObjectionDismissed",
        "ObjectionUpheld", "TaskEscalated",
    }  # fmt: skip
    assert all(DomainEvent.registry[t].topic() == t for t in topics)
    assert "ClaimDecided" not in topics and "ObjectionDecided" not in topics


def test_payloads_keep_the_shapes_the_outbox_always_had() -> None:
    """A rejection by the year's rules names no task; one by a reviewer names task, level and round; an
    escalation keeps an empty supervisor (a field without a default is always written)."""
    by_rules = ClaimRejected(claim_id=5, reason="超过申请期限", decided_at=AT)
    assert by_rules.payload() == {"claim_id": 5, "reason": "超过申请期限", "decided_at": AT.isoformat()}
    by_reviewer = ClaimApproved(claim_id=5, task_id=9, level=2, round=1, decided_at=AT, payout_fen=350_000)
    assert by_reviewer.payload() == {
        "claim_id": 5, "task_id": 9, "level": 2, "round": 1, "decided_at": AT.isoformat(), "payout_fen": 350_000,
    }  # fmt: skip
    assert TaskEscalated(task_id=3, claim_id=None, supervisor_id=None).payload() == {
        "task_id": 3, "claim_id": None, "supervisor_id": None,
    }  # fmt: skip


@pytest.mark.parametrize(
    "event",
    [
        ClaimApproved(claim_id=1, task_id=2, level=1, round=1, decided_at=AT, payout_fen=30_000),
        ClaimRejected(claim_id=1, objection_id=4, task_id=2, decided_at=AT, reason="异议成立"),
        ClaimReturned(claim_id=1, task_id=2, level=1, round=2, decided_at=AT, reason="请补充费用清单"),
        ObjectionRaised(objection_id=4, claim_id=1, task_id=2),
        ObjectionDismissed(objection_id=4, claim_id=1, task_id=2, decided_at=AT),
        ObjectionUpheld(objection_id=4, claim_id=1, task_id=2, decided_at=AT, outcome="uphold_reject"),
        TaskEscalated(task_id=2, claim_id=1, supervisor_id=None),
    ],
)
def test_an_event_reads_back_as_it_was_written(event: DomainEvent) -> None:
    assert event_of(event.topic(), event.payload()) == event


def test_reading_is_lenient_about_optional_facts_and_strict_about_required_ones() -> None:
    bare = event_of("ClaimRejected", {"claim_id": 5, "decided_at": "not a time", "task_id": True})
    assert bare == ClaimRejected(claim_id=5)
    assert event_of("LetterCopied", {"claim_id": 5}) is None  # no event class: nothing to decode
    with pytest.raises(MalformedEvent):
        event_of("ClaimApproved", {"payout_fen": 100})
    with pytest.raises(MalformedEvent):
        event_of("ObjectionDismissed", {"objection_id": 1, "claim_id": 2, "task_id": 3})


def test_the_gate_writes_events_and_facts_in_the_callers_transaction(session: Session) -> None:
    emit(session, ObjectionRaised(objection_id=4, claim_id=1, task_id=2))
    emit_all(session, [TaskEscalated(task_id=t, claim_id=None, supervisor_id=7) for t in (10, 11)], at=AT)
    record(session, "publication", 3, "disclosure.published", actor=ACTOR, data={"version": 2})
    record_all(session, "approval_task", [10, 11], "task.escalated", actor=ACTOR, data={"supervisor_id": 7}, at=AT)
    session.rollback()  # nothing is written outside the caller's transaction
    assert session.exec(select(OutboxMessage)).all() == []
    emit_all(session, [TaskEscalated(task_id=t, claim_id=None, supervisor_id=7) for t in (10, 11)], at=AT)
    record_all(session, "approval_task", [10, 11], "task.escalated", actor=ACTOR, data={"supervisor_id": 7}, at=AT)
    session.commit()
    outbox = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
    assert [(m.topic, m.payload["task_id"], m.attempts, m.dispatched_at) for m in outbox] == [
        ("TaskEscalated", 10, 0, None), ("TaskEscalated", 11, 0, None),
    ]  # fmt: skip
    audit = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    assert [(a.entity_type, a.entity_id, a.action, a.actor_id, a.from_state, a.data) for a in audit] == [
        ("approval_task", 10, "task.escalated", None, None, {"supervisor_id": 7}),
        ("approval_task", 11, "task.escalated", None, None, {"supervisor_id": 7}),
    ]
