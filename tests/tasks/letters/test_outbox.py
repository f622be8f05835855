"""The outbox dispatcher on a real database and real object stores: every topic, idempotency, failures that
stay pending without blocking the others, retries, the give-up limit, and (PostgreSQL) SKIP LOCKED."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from core.storage.base import ObjectStore
from core.storage.local import LocalObjectStore
from core.storage.s3 import S3ObjectStore
from models.audit import OutboxMessage
from models.letters import Letter, LetterKind
from tasks.letters.decision_letters import LETTER_TOPICS
from tasks.letters.outbox import (
    HANDLERS,
    MAX_ATTEMPTS,
    count_given_up,
    count_pending,
    dispatch_pending,
    pending_messages,
    short_error,
)
from tests.api.conftest import insert_claim
from tests.conftest import TEST_DB
from tests.factories import World, build_world
from tests.tasks.letters.test_letters import approved, decided


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)


def messages(session: Session, *, letters_only: bool = True) -> list[OutboxMessage]:
    """The outbox messages that ask for a letter (or all of them) as the database has them now, oldest first."""
    stmt = select(OutboxMessage).order_by(col(OutboxMessage.id)).execution_options(populate_existing=True)
    if letters_only:
        stmt = stmt.where(col(OutboxMessage.topic).in_(list(LETTER_TOPICS)))
    found = session.exec(stmt).all()
    session.commit()
    return list(found)


def dispatch(session: Session, store: ObjectStore, limit: int = 50) -> dict[str, int]:
    counts = dispatch_pending(session=session, store=store, limit=limit)
    session.commit()
    return counts.as_dict()


def three_decisions(session: Session, world: World) -> None:
    """An approval (two levels), a rejection and a return, each with its outbox message."""
    approved(session, world, n=1)
    decided(session, world, insert_claim(session, world, n=2), ("l1_a", "reject", "不符合互助条件"))
    decided(session, world, insert_claim(session, world, n=3), ("l1_a", "return", "请补充费用清单"))


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_every_decision_gets_its_letter_and_other_topics_are_passed(
    session: Session, store: ObjectStore, world: World
) -> None:
    three_decisions(session, world)
    session.add(OutboxMessage(topic="TaskEscalated", payload={"task_id": 1, "claim_id": 1}))
    session.commit()
    everything = messages(session, letters_only=False)
    assert len(messages(session)) == 3 and everything[-1].topic == "TaskEscalated"
    counts = dispatch(session, store)
    assert counts == {"picked": len(everything), "dispatched": len(everything), "written": 3, "failed": 0,
                      "last_id": everything[-1].id}  # fmt: skip
    assert all(m.dispatched_at is not None and m.attempts == 0 for m in messages(session, letters_only=False))
    kinds = session.exec(select(Letter.kind).order_by(col(Letter.id))).all()
    assert kinds == [LetterKind.APPROVAL, LetterKind.REJECTION, LetterKind.MATERIALS_REQUEST]
    assert count_pending(session=session) == 0


def test_dispatching_again_writes_nothing_twice(session: Session, store: ObjectStore, world: World) -> None:
    three_decisions(session, world)
    dispatch(session, store)
    objects = store.list("letters/")
    assert len(objects) == 3
    assert dispatch(session, store)["picked"] == 0
    # even a message put back to pending (say, a crash after the commit was lost) finds its letter
    first = messages(session)[0]
    first.dispatched_at = None
    session.add(first)
    session.commit()
    again = dispatch(session, store)
    assert (again["picked"], again["dispatched"], again["written"]) == (1, 1, 0)
    assert len(session.exec(select(Letter)).all()) == 3 and store.list("letters/") == objects


def test_a_failing_message_stays_pending_and_does_not_block_the_next(
    session: Session, store: ObjectStore, world: World
) -> None:
    session.add(OutboxMessage(topic="ClaimApproved", payload={"claim_id": 999_999, "payout_fen": 100}))
    session.commit()
    approved(session, world)
    counts = dispatch(session, store)
    assert (counts["dispatched"] - counts["picked"], counts["failed"]) == (-1, 1)
    poison, good = messages(session)
    assert poison.dispatched_at is None and poison.attempts == 1
    assert (
        poison.last_error is not None and poison.last_error.startswith("NotFound: ") and "999999" in poison.last_error
    )
    assert good.dispatched_at is not None
    assert len(session.exec(select(Letter)).all()) == 1
    # tried again on every run until its attempts are used up, then left pending but skipped
    dispatch(session, store)
    assert messages(session)[0].attempts == 2
    poison = messages(session)[0]
    poison.attempts = MAX_ATTEMPTS - 1
    session.add(poison)
    session.commit()
    assert dispatch(session, store)["failed"] == 1
    assert messages(session)[0].attempts == MAX_ATTEMPTS
    assert dispatch(session, store)["picked"] == 0
    assert count_given_up(session=session) == 1 and count_pending(session=session) == 1


def test_an_unwritable_store_fails_the_letters_until_it_is_back(
    session: Session, store: LocalObjectStore, world: World, tmp_path: Path
) -> None:
    approved(session, world, n=1)
    session.add(OutboxMessage(topic="ClaimEscalated", payload={"claim_id": 1}))  # needs no store
    session.commit()
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the store's folder should be")
    counts = dispatch(session, LocalObjectStore(blocked))
    assert counts["failed"] == 1 and counts["dispatched"] == counts["picked"] - 1
    assert messages(session, letters_only=False)[-1].dispatched_at is not None
    letter_message = messages(session)[0]
    assert letter_message.dispatched_at is None and letter_message.attempts == 1
    assert letter_message.last_error is not None and "Error" in letter_message.last_error
    assert session.exec(select(Letter)).all() == []
    # the store is back: the next run writes the letter
    counts = dispatch(session, store)
    assert (counts["picked"], counts["written"], counts["failed"]) == (1, 1, 0)
    letter_message = messages(session)[0]
    assert letter_message.dispatched_at is not None and letter_message.last_error is None
    assert letter_message.attempts == 1  # the failed attempt stays counted


def test_an_s3_store_that_is_down_is_a_failure_to_retry(
    session: Session, store: ObjectStore, world: World, s3_endpoint: str
) -> None:
    approved(session, world)
    down = S3ObjectStore(f"127.0.0.1:{closed_port()}", "testing", "testing", "letters", connect_timeout=1)
    assert dispatch(session, down)["failed"] == 1
    (message,) = messages(session)
    assert message.last_error is not None and message.last_error.startswith("ObjectStoreUnavailable: ")
    up = S3ObjectStore(s3_endpoint, "testing", "testing", "letters-test")
    assert dispatch(session, up)["written"] == 1
    letter = session.exec(select(Letter)).one()
    assert up.exists(letter.object_key)


def test_short_errors_leave_out_sql_and_parameters() -> None:
    from sqlalchemy.exc import IntegrityError

    error = IntegrityError(
        "INSERT INTO letter (…) VALUES (?)", {"name": "张三丰"}, Exception("UNIQUE failed\nDETAIL x")
    )
    assert short_error(error) == "IntegrityError: Exception: UNIQUE failed"
    assert len(short_error(ValueError("x" * 2000))) == 500


@pytest.mark.skipif(TEST_DB != "postgresql", reason="FOR UPDATE SKIP LOCKED is PostgreSQL's; SQLite serialises writers")
def test_two_dispatchers_never_take_the_same_message(
    session: Session, store: ObjectStore, world: World, engine: Engine
) -> None:
    three_decisions(session, world)
    total = len(messages(session, letters_only=False))
    with Session(engine) as first, Session(engine) as second:
        taken = pending_messages(session=first, limit=2)  # locked until `first` ends its transaction
        assert len(taken) == 2
        counts = dispatch_pending(session=second, store=store, limit=50)
        second.commit()
        assert (counts.picked, counts.dispatched) == (total - 2, total - 2)
        first.rollback()
    assert dispatch(session, store)["dispatched"] == 2
    assert len(session.exec(select(Letter)).all()) == 3


def test_a_handler_failing_halfway_leaves_nothing_behind(
    session: Session, store: ObjectStore, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handler (here one registered for a test topic) whose write the database refuses mid-way: its
    savepoint is rolled back, the transaction goes on, and the next message is dispatched in it."""
    claim, _ = approved(session, world)
    dispatch(session, store)
    letter = session.exec(select(Letter)).one()

    def second_letter_for_the_same_event(session: Session, _store: ObjectStore, message: OutboxMessage) -> bool:
        session.add(OutboxMessage(topic="Echo", payload={"of": message.id}))  # written first: rolled back too
        session.flush()
        fields = [
            "claim_id",
            "kind",
            "object_key",
            "media_type",
            "size",
            "sha256",
            "outbox_message_id",
            "decided_at",
            "due_at",
        ]
        session.add(Letter(**{name: getattr(letter, name) for name in fields}))
        session.flush()  # the unique outbox_message_id refuses it
        return True

    monkeypatch.setitem(HANDLERS, "LetterCopied", second_letter_for_the_same_event)
    session.add(OutboxMessage(topic="LetterCopied", payload={"claim_id": claim.id}))
    session.commit()
    decided(session, world, insert_claim(session, world, n=9), ("l1_a", "reject", "不符合互助条件"))
    counts = dispatch(session, store)
    assert (counts["failed"], counts["written"]) == (1, 1)
    copied = session.exec(select(OutboxMessage).where(OutboxMessage.topic == "LetterCopied")).one()
    assert copied.attempts == 1 and copied.last_error is not None and copied.last_error.startswith("IntegrityError")
    assert session.exec(select(OutboxMessage).where(OutboxMessage.topic == "Echo")).all() == []
    assert len(session.exec(select(Letter)).all()) == 2  # the first letter and the rejection's, no copy
