"""Disbursement (DOMAIN 2.8): payable claims (their public notice passed, tasks.approval.notice) go into a batch.

Money safety: the batch, its payments, the claims' move to in_payment and the fund debit are one
transaction; a partial unique index allows one live (pending or paid) payment per claim, so a claim is
paid at most once whatever retries happen; the fund account's CHECK keeps the balance non-negative.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core.storage.base import ObjectStore
from models.base import utcnow
from models.claims import Claim, ClaimStatus
from models.members import Member
from models.payments import Payment, PaymentBatch, PaymentStatus
from models.programmes import PolicyYear
from models.states import Actor, change_status, change_status_bulk
from tasks.disbursement.bank_files import PaymentLine, payment_csv, payment_xlsx
from tasks.funds.ledger import post_payout


@dataclass(frozen=True)
class BatchResult:
    """A batch and the payable claims that could not go in it (no bank card on file)."""

    batch: PaymentBatch | None
    skipped_no_bank: int = 0


def create_batch(
    *, session: Session, store: ObjectStore, policy_year: PolicyYear, actor: Actor, limit: int = 5000
) -> BatchResult:
    """Put payable claims of a year into a new batch, debit the fund, and export the payment files."""
    rows = _payable_claims(session=session, policy_year=policy_year, limit=limit)
    payable = [r for r in rows if r.bank_card]
    skipped = len(rows) - len(payable)
    if not payable:
        return BatchResult(None, skipped)
    attempts = _previous_attempts(session=session, claim_ids=[r.id for r in payable])
    batch = PaymentBatch(
        batch_no=f"B{utcnow():%Y%m%d%H%M%S}{secrets.token_hex(2).upper()}",
        policy_year_id=policy_year.id or 0,
        payment_count=len(payable),
        total_fen=sum(int(r.payout_fen or 0) for r in payable),
        created_by=actor.user_id,
    )
    session.add(batch)
    session.flush()
    _insert_payments(session=session, batch=batch, claims=payable, attempts=attempts)
    change_status_bulk(session, Claim, [r.id for r in payable], ClaimStatus.IN_PAYMENT, actor=actor)
    post_payout(session=session, policy_year_id=policy_year.id or 0, amount_fen=batch.total_fen, batch_id=batch.id)
    _export(session=session, store=store, batch=batch, references={r.id: r.reference for r in payable}, actor=actor)
    return BatchResult(batch, skipped)


def _payable_claims(*, session: Session, policy_year: PolicyYear, limit: int) -> Sequence[Any]:
    """Up to `limit` payable claims of the year in id order, locked, with their payee's name and bank."""
    return session.execute(
        sa_select(Claim.id, Claim.payout_fen, Member.name, Member.bank_card, Member.bank_name, Claim.reference)  # type: ignore[call-overload]
        .join(Member, Member.id == Claim.member_id)
        .where(Claim.policy_year_id == policy_year.id, Claim.status == ClaimStatus.PAYABLE)
        .order_by(col(Claim.id))
        .limit(limit)
        .with_for_update(of=Claim)
    ).all()


def _insert_payments(*, session: Session, batch: PaymentBatch, claims: list[Any], attempts: dict[int, int]) -> None:
    """One pending payment per claim in the batch, each the claim's next attempt, in one bulk insert."""
    session.execute(
        insert(Payment.__table__),  # type: ignore[attr-defined]
        [
            {
                "batch_id": batch.id,
                "claim_id": r.id,
                "attempt": attempts.get(r.id, 0) + 1,
                "amount_fen": int(r.payout_fen or 0),
                "payee_name": r.name,
                "bank_card": r.bank_card,
                "bank_name": r.bank_name or "",
                "status": PaymentStatus.PENDING,
                "version": 1,
            }
            for r in claims
        ],
    )


def _previous_attempts(*, session: Session, claim_ids: list[int]) -> dict[int, int]:
    rows = session.exec(
        select(Payment.claim_id, func.max(Payment.attempt))
        .where(col(Payment.claim_id).in_(claim_ids))
        .group_by(Payment.claim_id)  # type: ignore[arg-type]
    ).all()
    return {claim_id: int(n or 0) for claim_id, n in rows}


def _export(
    *, session: Session, store: ObjectStore, batch: PaymentBatch, references: dict[int, str], actor: Actor
) -> None:
    payments = session.exec(select(Payment).where(Payment.batch_id == batch.id).order_by(col(Payment.id))).all()
    lines = [
        PaymentLine(
            payment_id=p.id or 0,
            claim_reference=references[p.claim_id],
            payee_name=p.payee_name,
            bank_card=p.bank_card,
            bank_name=p.bank_name,
            amount_fen=p.amount_fen,
        )
        for p in payments
    ]
    csv_obj = store.put(
        f"payments/{batch.batch_no}.csv", payment_csv(batch.batch_no, lines), media_type="text/csv; charset=utf-8"
    )
    store.put(
        f"payments/{batch.batch_no}.xlsx",
        payment_xlsx(batch.batch_no, lines),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    change_status(
        session,
        batch,
        "exported",
        actor=actor,
        values={"file_key": csv_obj.key, "file_sha256": csv_obj.sha256},
        data={"count": batch.payment_count, "total_fen": batch.total_fen},
    )
