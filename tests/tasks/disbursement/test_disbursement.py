"""Disbursement (DOMAIN 2.8) on a real database: notices released, batches, payment files, bank results,
money safety (a claim paid at most once, the fund never negative)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.storage.base import ObjectStore
from models.approvals import ApprovalTask, DecisionIn, Outcome, TaskStatus
from models.audit import AuditEvent
from models.claims import Claim, ClaimStatus
from models.errors import Conflict
from models.funds import FundSource
from models.members import Member
from models.payments import BatchStatus, Payment, PaymentBatch, PaymentStatus
from models.states import Actor
from mutualaid.demo.bank import luhn_ok, settle_payment_file
from tasks.approval.decisions import decide, take_task
from tasks.approval.notice import release_notices
from tasks.approval.routing import route_claims
from tasks.claims.adjudication import adjudicate_claims
from tasks.disbursement.bank_files import read_payment_csv, read_result_csv
from tasks.disbursement.batches import create_batch
from tasks.disbursement.settlement import import_bank_results, retry_failed
from tasks.funds.ledger import fund_balance, record_receipt
from tests.factories import World, build_world
from tests.tasks.claims.test_claims import documents, enrol_members, file_claim, hospital_claim

FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
DONATION_FEN = 10_000_000  # 100,000 yuan, so the fund covers the test payouts
CONTRIBUTION_FEN = 9_500


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)


def finance(world: World) -> Actor:
    user = world.user("finance")
    return Actor(user.id, user.username)


def donate(session: Session, world: World, amount_fen: int = DONATION_FEN) -> None:
    record_receipt(
        session=session,
        policy_year=world.policy_year,
        source=FundSource.DONATION,
        payer="某慈善基金会",
        amount_fen=amount_fen,
        received_on=date(2026, 2, 1),
        reference=f"DON-{amount_fen}",
    )
    session.commit()


def balance(session: Session, world: World) -> int:
    assert world.policy_year.id is not None
    return fund_balance(session=session, policy_year_id=world.policy_year.id).balance_fen


def reload(session: Session, claim_id: int | None) -> Claim:
    session.expire_all()
    found = session.get(Claim, claim_id)
    assert found is not None
    return found


def approve_all_levels(session: Session, world: World, claim: Claim, reviewers: list[str]) -> None:
    """Take and approve the claim's open task at each level with the named reviewers."""
    for name in reviewers:
        user = world.user(name)
        task = session.exec(
            select(ApprovalTask).where(ApprovalTask.claim_id == claim.id, ApprovalTask.status == TaskStatus.OPEN)
        ).one()
        take_task(session=session, user=user, task_id=task.id or 0)
        decide(
            session=session,
            user=user,
            task_id=task.id or 0,
            decision=DecisionIn(outcome=Outcome.APPROVE, version=task.version),
        )
        session.commit()


def claim_in_notice(
    session: Session,
    store: ObjectStore,
    world: World,
    member: Member,
    seed: int,
    *,
    total: str = "10000.00",
    basic: str = "6000.00",
) -> Claim:
    """File, calculate, route and approve a G11 hospitalisation claim up to its public notice."""
    data = hospital_claim(invoice=f"FP-PAY-{seed}", total=total, basic=basic)
    claim = file_claim(session, store, world, member, data, documents(seed))
    adjudicate_claims(session=session, claim_ids=[claim.id or 0])
    route_claims(session=session, claim_ids=[claim.id or 0])
    session.commit()
    claim = reload(session, claim.id)
    reviewers = ["l1_a", "l2_a", "l3"] if claim.required_levels == 3 else ["l1_a", "l2_a"]
    approve_all_levels(session, world, claim, reviewers)
    claim = reload(session, claim.id)
    assert claim.status == ClaimStatus.IN_NOTICE, claim.rejection_reason
    assert claim.notice_ends_at is not None
    return claim


@pytest.fixture
def members(session: Session, world: World) -> list[Member]:
    """Three enrolled, covered members of G11; the third has a card that fails the Luhn check."""
    found = enrol_members(session, world, [101, 102, 103], bad_cards=[103])
    assert [luhn_ok(m.bank_card or "") for m in found] == [True, True, False]
    return found


@pytest.fixture
def payable(session: Session, store: ObjectStore, world: World, members: list[Member]) -> list[Claim]:
    """One claim per member, approved (one of them at three levels) and past its notice: payable."""
    donate(session, world)
    claims = [
        claim_in_notice(session, store, world, members[0], 101),  # payout 2,450.00, two levels
        claim_in_notice(session, store, world, members[1], 102, total="20000.00", basic="10000.00"),  # 6,650.00
        claim_in_notice(session, store, world, members[2], 103, total="5000.00", basic="4000.00"),  # 350.00
    ]
    assert [c.payout_fen for c in claims] == [245_000, 665_000, 35_000]
    assert claims[1].required_levels == 3
    assert release_notices(session=session, as_of=FAR_FUTURE, actor=finance(world)) == 3
    session.commit()
    return [reload(session, c.id) for c in claims]


def test_notice_not_yet_passed_is_not_payable(
    session: Session, store: ObjectStore, world: World, members: list[Member]
) -> None:
    donate(session, world)
    claim = claim_in_notice(session, store, world, members[0], 110)
    assert claim.notice_ends_at is not None
    just_before = claim.notice_ends_at.replace(tzinfo=claim.notice_ends_at.tzinfo or UTC) - timedelta(seconds=1)
    assert release_notices(session=session, as_of=just_before, actor=finance(world)) == 0
    assert reload(session, claim.id).status == ClaimStatus.IN_NOTICE
    assert release_notices(session=session, as_of=FAR_FUTURE, actor=finance(world)) == 1
    session.commit()
    assert reload(session, claim.id).status == ClaimStatus.PAYABLE
    assert release_notices(session=session, as_of=FAR_FUTURE, actor=finance(world)) == 0


def test_batch_pays_settles_and_never_pays_twice(
    session: Session, store: ObjectStore, world: World, members: list[Member], payable: list[Claim]
) -> None:
    assert all(c.status == ClaimStatus.PAYABLE for c in payable)
    receipts = DONATION_FEN + 3 * CONTRIBUTION_FEN
    assert balance(session, world) == receipts
    total = 245_000 + 665_000 + 35_000

    # --- the batch ---
    result = create_batch(session=session, store=store, policy_year=world.policy_year, actor=finance(world))
    session.commit()
    batch = result.batch
    assert batch is not None and result.skipped_no_bank == 0
    assert (batch.payment_count, batch.total_fen, batch.status) == (3, total, BatchStatus.EXPORTED)
    payments = session.exec(select(Payment).where(Payment.batch_id == batch.id).order_by(col(Payment.id))).all()
    assert [p.claim_id for p in payments] == [c.id for c in payable]
    assert [p.amount_fen for p in payments] == [245_000, 665_000, 35_000]
    assert all(p.status == PaymentStatus.PENDING and p.attempt == 1 for p in payments)
    assert [p.bank_card for p in payments] == [m.bank_card for m in members]
    assert all(reload(session, c.id).status == ClaimStatus.IN_PAYMENT for c in payable)
    figures = fund_balance(session=session, policy_year_id=world.policy_year.id or 0)
    assert (figures.payouts_fen, figures.balance_fen) == (total, receipts - total)

    # --- the payment file ---
    assert batch.file_key is not None and batch.file_key.endswith(".csv")
    payment_file = store.get(batch.file_key)
    batch_no, count, control_total, lines = read_payment_csv(payment_file)
    assert (batch_no, count, control_total) == (batch.batch_no, 3, total)
    assert [line.payment_id for line in lines] == [p.id for p in payments]
    assert [line.claim_reference for line in lines] == [c.reference for c in payable]
    assert sum(line.amount_fen for line in lines) == total
    assert store.exists(f"payments/{batch.batch_no}.xlsx")

    # --- the bank's result ---
    result_file = settle_payment_file(payment_file)
    results = read_result_csv(result_file)
    assert [r.paid for r in results] == [True, True, False]
    counts = import_bank_results(session=session, batch=batch, data=result_file, actor=finance(world))
    session.commit()
    assert (counts.paid, counts.failed, counts.already_settled) == (2, 1, 0)
    statuses = [reload(session, c.id).status for c in payable]
    assert statuses == [ClaimStatus.PAID, ClaimStatus.PAID, ClaimStatus.PAYMENT_FAILED]
    session.expire_all()
    payments = session.exec(select(Payment).where(Payment.batch_id == batch.id).order_by(col(Payment.id))).all()
    assert [p.status for p in payments] == [PaymentStatus.PAID, PaymentStatus.PAID, PaymentStatus.FAILED]
    assert payments[0].bank_reference and payments[1].bank_reference
    assert payments[2].failure_reason == "账号错误"
    assert reload(session, payable[0].id).paid_at is not None
    paid_total = 245_000 + 665_000
    figures = fund_balance(session=session, policy_year_id=world.policy_year.id or 0)
    assert (figures.payouts_fen, figures.balance_fen) == (paid_total, receipts - paid_total)
    settled = session.get(PaymentBatch, batch.id)
    assert settled is not None and settled.status == BatchStatus.SETTLED and settled.settled_at is not None

    # --- re-importing the same file changes nothing ---
    again = import_bank_results(session=session, batch=settled, data=result_file, actor=finance(world))
    session.commit()
    assert (again.paid, again.failed, again.already_settled) == (0, 0, 3)
    assert balance(session, world) == receipts - paid_total
    assert [reload(session, c.id).status for c in payable] == statuses

    # --- nothing left to pay: a claim is paid at most once ---
    assert create_batch(session=session, store=store, policy_year=world.policy_year, actor=finance(world)).batch is None
    session.commit()
    assert balance(session, world) == receipts - paid_total

    # --- the failed claim, once corrected, is paid in a second attempt ---
    assert retry_failed(session=session, claim_ids=[c.id or 0 for c in payable], actor=finance(world)) == 1
    retry = create_batch(session=session, store=store, policy_year=world.policy_year, actor=finance(world))
    session.commit()
    assert retry.batch is not None and retry.batch.payment_count == 1
    second = session.exec(select(Payment).where(Payment.batch_id == retry.batch.id)).one()
    assert (second.claim_id, second.attempt, second.amount_fen) == (payable[2].id, 2, 35_000)
    assert balance(session, world) == receipts - total

    # --- every claim's path is in the audit log ---
    for claim in payable[:2]:
        moves = session.exec(
            select(AuditEvent.to_state)
            .where(AuditEvent.entity_type == "claim", AuditEvent.entity_id == claim.id)
            .order_by(col(AuditEvent.id))
        ).all()
        assert moves[-4:] == [ClaimStatus.IN_NOTICE, ClaimStatus.PAYABLE, ClaimStatus.IN_PAYMENT, ClaimStatus.PAID]


def test_a_second_live_payment_for_a_claim_is_refused_by_the_database(
    session: Session, store: ObjectStore, world: World, payable: list[Claim]
) -> None:
    batch = create_batch(session=session, store=store, policy_year=world.policy_year, actor=finance(world)).batch
    assert batch is not None
    assert batch.file_key is not None
    import_bank_results(
        session=session, batch=batch, data=settle_payment_file(store.get(batch.file_key)), actor=finance(world)
    )
    session.commit()
    paid = reload(session, payable[0].id)
    assert paid.status == ClaimStatus.PAID
    session.add(
        Payment(
            batch_id=batch.id or 0,
            claim_id=paid.id or 0,
            attempt=2,
            amount_fen=paid.payout_fen or 0,
            payee_name="重复",
            bank_card="6222020000000000",
            bank_name="中国工商银行",
        )
    )
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    # a failed payment does not count: another attempt for the failed claim is allowed
    failed = reload(session, payable[2].id)
    assert failed.status == ClaimStatus.PAYMENT_FAILED
    session.add(
        Payment(
            batch_id=batch.id or 0,
            claim_id=failed.id or 0,
            attempt=2,
            amount_fen=failed.payout_fen or 0,
            payee_name="重试",
            bank_card="6222020000000000",
            bank_name="中国工商银行",
        )
    )
    session.commit()


def test_a_batch_larger_than_the_fund_is_refused(
    session: Session, store: ObjectStore, world: World, members: list[Member]
) -> None:
    donate(session, world, 800_000)  # 8,000 yuan: not enough to pay 2,450 + 6,650
    claims = [
        claim_in_notice(session, store, world, members[0], 121),
        claim_in_notice(session, store, world, members[1], 122, total="20000.00", basic="10000.00"),
    ]
    assert release_notices(session=session, as_of=FAR_FUTURE, actor=finance(world)) == 2
    session.commit()
    before = fund_balance(session=session, policy_year_id=world.policy_year.id or 0)
    assert before.balance_fen == 800_000 + 3 * CONTRIBUTION_FEN < 910_000
    with pytest.raises(Conflict):
        create_batch(session=session, store=store, policy_year=world.policy_year, actor=finance(world))
    session.rollback()
    assert [reload(session, c.id).status for c in claims] == [ClaimStatus.PAYABLE, ClaimStatus.PAYABLE]
    assert fund_balance(session=session, policy_year_id=world.policy_year.id or 0) == before
    assert session.exec(select(Payment)).all() == []
    assert session.exec(select(PaymentBatch)).all() == []
    assert store.list("payments/") == []
    # with enough money the same claims are paid
    donate(session, world, 100_000)
    result = create_batch(session=session, store=store, policy_year=world.policy_year, actor=finance(world))
    session.commit()
    assert result.batch is not None and result.batch.total_fen == 910_000
    assert balance(session, world) == 800_000 + 100_000 + 3 * CONTRIBUTION_FEN - 910_000


def test_payable_claim_without_a_bank_card_is_skipped(
    session: Session, store: ObjectStore, world: World, members: list[Member]
) -> None:
    donate(session, world)
    claim = claim_in_notice(session, store, world, members[0], 130)
    release_notices(session=session, as_of=FAR_FUTURE, actor=finance(world))
    member = session.get(Member, members[0].id)
    assert member is not None
    member.bank_card = None
    session.commit()
    result = create_batch(session=session, store=store, policy_year=world.policy_year, actor=finance(world))
    session.commit()
    assert (result.batch, result.skipped_no_bank) == (None, 1)
    assert reload(session, claim.id).status == ClaimStatus.PAYABLE
    assert balance(session, world) == DONATION_FEN + 3 * CONTRIBUTION_FEN
