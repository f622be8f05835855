"""Two claims of one member finalised at the same moment cannot pass the year's limits together
(DOMAIN 2.6 rule 4: "the cap is checked again at final approval, so two claims can never together pass it").

Real threads, each with its own session and connection, drive real final-level decisions
(tasks.approval.decisions.decide) on one real database. The threads start together (a barrier), and each waits
for the other at the moment it is about to count the member's granted claims (a second barrier, with a
short timeout, entered from a SQLAlchemy statement hook): without a lock both would count before either
commits. On PostgreSQL the member row lock in tasks.approval.final.finalise makes the second wait until
the first commits; on SQLite every write transaction begins IMMEDIATE, so the second waits at its start.
Either way the second one counts the first one's grant: it is lowered to what is left (or refused), with
an explanation step, and nothing is half-written.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, event, func
from sqlmodel import Session, col, select

from core.storage.base import ObjectStore
from models.approvals import ApprovalTask, Decision, DecisionIn, Outcome, TaskStatus
from models.audit import AuditEvent, OutboxMessage
from models.claims import Claim, ClaimStatus
from models.errors import Conflict
from models.members import Member
from models.users import User
from tasks.approval.decisions import decide
from tasks.approval.routing import route_claims
from tasks.claims.adjudication import adjudicate_claims
from tasks.claims.benefits import CAP_REACHED
from tests.factories import World, build_world
from tests.tasks.claims.test_adjudication import Filer, costing, critical, fresh
from tests.tasks.claims.test_claims import enrol_members

ROUNDS = 3  # each race is run a few times: the order in which the two threads win varies
RENDEZVOUS_SECONDS = 1.5  # how long a thread about to count usage waits for the other one
USAGE_QUERY = "sum(claim.payout_fen)"  # tasks.claims.limits.usage_of


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)


@pytest.fixture
def member(session: Session, world: World) -> Member:
    return enrol_members(session, world, [7])[0]


@pytest.fixture
def file(session: Session, store: ObjectStore, world: World) -> Filer:
    return Filer(session, store, world)


def to_final_level(session: Session, world: World, claims: list[Claim]) -> list[ApprovalTask]:
    """Calculate and route the claims, approve every level below the last; their final-level tasks."""
    ids = [c.id or 0 for c in claims]
    adjudicate_claims(session=session, claim_ids=ids)
    route_claims(session=session, claim_ids=ids)
    session.commit()
    finals = []
    for claim in claims:
        levels = fresh(session, claim).required_levels or 0
        for level, reviewer in zip(range(1, levels), ("l1_a", "l2_a"), strict=False):
            task = open_task(session, claim, level)
            decide(
                session=session,
                user=world.user(reviewer),
                task_id=task.id or 0,
                decision=DecisionIn(outcome=Outcome.APPROVE, version=task.version),
            )
            session.commit()
        finals.append(open_task(session, claim, levels))
    session.commit()  # end the read transaction: the racing threads must not wait for this session
    return finals


def open_task(session: Session, claim: Claim, level: int) -> ApprovalTask:
    return session.exec(
        select(ApprovalTask)
        .where(ApprovalTask.claim_id == claim.id, ApprovalTask.level == level, ApprovalTask.status == TaskStatus.OPEN)
        .execution_options(populate_existing=True)
    ).one()


@contextmanager
def meeting_at_usage(engine: Engine, racers: set[int], parties: int) -> Iterator[None]:
    """While active, a racing thread about to count a member's granted claims first waits (briefly) for the
    other racers to get there too. A thread held back by a lock never arrives; the wait then times out."""
    rendezvous = threading.Barrier(parties)

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.get_ident() in racers and USAGE_QUERY in statement:
            with suppress(threading.BrokenBarrierError):
                rendezvous.wait(timeout=RENDEZVOUS_SECONDS)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)


def race(session: Session, engine: Engine, decisions: list[tuple[int, int, int]]) -> list[BaseException | None]:
    """Run decide(user, task) for every (user id, task id, version) at once, each in its own thread, session
    and transaction (committed); per decision, the exception it raised or None."""
    session.commit()  # the test's own session holds no transaction (on SQLite: no write lock) meanwhile
    start = threading.Barrier(len(decisions))
    outcomes: list[BaseException | None] = [None] * len(decisions)
    racers: set[int] = set()

    def run(i: int) -> None:
        user_id, task_id, version = decisions[i]
        racers.add(threading.get_ident())
        try:
            with Session(engine, expire_on_commit=False) as own:
                user = own.get(User, user_id)
                assert user is not None
                own.commit()  # the user is read; no transaction is open when the race starts
                start.wait(timeout=30)
                decide(
                    session=own,
                    user=user,
                    task_id=task_id,
                    decision=DecisionIn(outcome=Outcome.APPROVE, version=version),
                )
                own.commit()
        except BaseException as exc:  # reported to the test's thread
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(decisions))]
    with meeting_at_usage(engine, racers, len(decisions)):
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return outcomes


def assert_whole(session: Session, claims: list[Claim], tasks: list[ApprovalTask]) -> None:
    """Nothing half-written: each final task completed with one decision; each claim decided once, with one
    outbox event and one audit event per status change (its version counts them)."""
    outbox = session.exec(
        select(OutboxMessage).where(col(OutboxMessage.topic).in_(["ClaimApproved", "ClaimRejected"]))
    ).all()
    for claim, task in zip(claims, tasks, strict=True):
        claim = fresh(session, claim)
        assert claim.status in (ClaimStatus.IN_NOTICE, ClaimStatus.REJECTED)
        done = session.get(ApprovalTask, task.id, populate_existing=True)
        assert done is not None and done.status == TaskStatus.COMPLETED
        decisions = session.exec(select(func.count()).select_from(Decision).where(Decision.task_id == task.id)).one()
        assert decisions == 1
        expected = "ClaimApproved" if claim.status == ClaimStatus.IN_NOTICE else "ClaimRejected"
        assert [m.topic for m in outbox if m.payload.get("claim_id") == claim.id] == [expected]
        changes = session.exec(
            select(AuditEvent)
            .where(
                AuditEvent.entity_type == "claim",
                AuditEvent.entity_id == claim.id,
                col(AuditEvent.from_state).is_not(None),
                AuditEvent.from_state != AuditEvent.to_state,
            )
            .order_by(col(AuditEvent.id))
        ).all()
        assert len(changes) == claim.version - 1  # submitted → in_review → in_notice or rejected
        if claim.status == ClaimStatus.IN_NOTICE:
            notice_no = f"GS2026-{claim.id:06d}-1"  # posted for public notice in the same transaction
            assert changes[-1].data == {"payout_fen": claim.payout_fen, "notice_no": notice_no}
    session.commit()


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_two_claims_finalised_at_once_cannot_pass_the_annual_cap(
    session: Session, engine: Engine, world: World, member: Member, file: Filer, round_no: int
) -> None:
    # 14,000.00 each (eligible 20,000.00), both calculated before either was granted; the cap is 20,000.00.
    claims = [file(member, costing("20000.00", invoice=f"CAP-{i}")) for i in range(2)]
    tasks = to_final_level(session, world, claims)
    assert [fresh(session, c).payout_fen for c in claims] == [1_400_000, 1_400_000]
    assert [t.level for t in tasks] == [3, 3]
    session.commit()
    users = [world.user("l3").id or 0, world.user("l3_2").id or 0]
    outcomes = race(session, engine, [(users[i], tasks[i].id or 0, tasks[i].version) for i in range(2)])
    assert outcomes == [None, None], outcomes
    done = [fresh(session, c) for c in claims]
    session.commit()
    assert [c.status for c in done] == [ClaimStatus.IN_NOTICE, ClaimStatus.IN_NOTICE]
    assert sum(c.payout_fen or 0 for c in done) == 2_000_000  # never more than the cap
    lowered, kept = sorted(done, key=lambda c: c.payout_fen or 0)  # whichever committed second was lowered
    assert (lowered.payout_fen, kept.payout_fen) == (600_000, 1_400_000)
    recheck = [s for s in lowered.explanation if s["step"] == "cap_recheck"]
    assert len(recheck) == 1
    assert recheck[0]["inputs"] == {"used_cap_fen": 1_400_000, "remaining_fen": 600_000}
    assert recheck[0]["result_fen"] == 600_000 and "6,000.00" in recheck[0]["text"]
    assert not any(s["step"] == "cap_recheck" for s in kept.explanation)
    assert_whole(session, claims, tasks)


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_two_claims_finalised_at_once_when_the_cap_is_used_up(
    session: Session, engine: Engine, world: World, member: Member, file: Filer, round_no: int
) -> None:
    # 20,000.00 each: whichever is first takes the whole cap; the other is refused, payout 0.
    claims = [file(member, costing("30000.00", invoice=f"ALL-{i}")) for i in range(2)]
    tasks = to_final_level(session, world, claims)
    users = [world.user("l3").id or 0, world.user("l3_2").id or 0]
    outcomes = race(session, engine, [(users[i], tasks[i].id or 0, tasks[i].version) for i in range(2)])
    assert outcomes == [None, None], outcomes
    done = sorted((fresh(session, c) for c in claims), key=lambda c: c.status)
    session.commit()
    assert [c.status for c in done] == [ClaimStatus.IN_NOTICE, ClaimStatus.REJECTED]
    granted, refused = done
    assert granted.payout_fen == 2_000_000
    assert (refused.payout_fen, refused.rejection_reason) == (0, CAP_REACHED)
    assert [s["result_fen"] for s in refused.explanation if s["step"] == "cap_recheck"] == [0]
    assert_whole(session, claims, tasks)


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_two_critical_illness_claims_finalised_at_once_exactly_one_is_granted(
    session: Session, engine: Engine, world: World, member: Member, file: Filer, round_no: int
) -> None:
    claims = [file(member, critical(date(2026, 5, 1))), file(member, critical(date(2026, 7, 1)))]
    tasks = to_final_level(session, world, claims)
    assert [t.level for t in tasks] == [2, 2]  # 5,000.00 is not above 5,000.00: two levels
    users = [world.user("l2_a").id or 0, world.user("l2_a2").id or 0]
    # l2_a approved neither at level 1, so both county reviewers may decide either claim
    outcomes = race(session, engine, [(users[i], tasks[i].id or 0, tasks[i].version) for i in range(2)])
    assert outcomes == [None, None], outcomes
    done = sorted((fresh(session, c) for c in claims), key=lambda c: c.status)
    session.commit()
    assert [c.status for c in done] == [ClaimStatus.IN_NOTICE, ClaimStatus.REJECTED]
    granted, refused = done
    assert granted.payout_fen == 500_000
    assert refused.payout_fen == 0
    assert refused.rejection_reason == "本年度已获重大疾病补助 1 次（每年限 1 次）"
    times = [s for s in refused.explanation if s["step"] == "times_per_year"]
    assert len(times) == 1 and times[0]["inputs"]["used"] == 1
    assert_whole(session, claims, tasks)


def test_a_conflicting_decision_leaves_nothing_behind(
    session: Session, engine: Engine, world: World, member: Member, file: Filer
) -> None:
    # The same final task decided twice at once: one wins, the loser's transaction leaves no trace.
    claims = [file(member, costing("20000.00", invoice="ONE"))]
    tasks = to_final_level(session, world, claims)
    user = world.user("l3").id or 0
    other = world.user("l3_2").id or 0
    outcomes = race(
        session, engine, [(user, tasks[0].id or 0, tasks[0].version), (other, tasks[0].id or 0, tasks[0].version)]
    )
    assert sorted(type(o).__name__ for o in outcomes) == sorted(["NoneType", Conflict.__name__])
    assert fresh(session, claims[0]).payout_fen == 1_400_000
    assert_whole(session, claims, tasks)
