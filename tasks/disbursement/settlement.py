"""Importing the bank's result file: payments become paid or failed, claims follow, failures are
credited back to the fund. Re-importing the same file changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from models.base import utcnow
from models.claims import Claim, ClaimStatus
from models.errors import ValidationFailed
from models.payments import BatchStatus, Payment, PaymentBatch, PaymentStatus
from models.states import Actor, change_status, change_status_bulk
from tasks.disbursement.bank_files import read_result_csv
from tasks.funds.ledger import reverse_payout


@dataclass(frozen=True)
class SettlementCounts:
    """What an import did."""

    paid: int
    failed: int
    already_settled: int


def import_bank_results(*, session: Session, batch: PaymentBatch, data: bytes, actor: Actor) -> SettlementCounts:
    """Apply a result file to a batch's pending payments."""
    results = read_result_csv(data)
    payments = {p.id: p for p in session.exec(select(Payment).where(Payment.batch_id == batch.id)).all()}
    unknown = [r.payment_id for r in results if r.payment_id not in payments]
    if unknown:
        raise ValidationFailed(f"回盘文件含有不属于批次 {batch.batch_no} 的付款流水号：{unknown[:5]}")
    now = utcnow()
    paid, failed, already = [], [], 0
    for r in results:
        payment = payments[r.payment_id]
        if payment.status != PaymentStatus.PENDING:
            already += 1
        elif r.paid:
            change_status(
                session, payment, PaymentStatus.PAID, actor=actor,
                values={"bank_reference": r.bank_reference, "settled_at": now},
            )  # fmt: skip
            paid.append(payment)
        else:
            _fail(session=session, batch=batch, payment=payment, reason=r.failure_reason, now=now, actor=actor)
            failed.append(payment)
    _claims_follow(session=session, paid=paid, failed=failed, now=now, actor=actor)
    pending = session.exec(
        select(Payment.id).where(Payment.batch_id == batch.id, Payment.status == PaymentStatus.PENDING)
    ).first()
    if pending is None and batch.status == BatchStatus.EXPORTED:
        change_status(session, batch, BatchStatus.SETTLED, actor=actor, values={"settled_at": now})
    return SettlementCounts(paid=len(paid), failed=len(failed), already_settled=already)


def _fail(
    *, session: Session, batch: PaymentBatch, payment: Payment, reason: str | None, now: datetime, actor: Actor
) -> None:
    """A payment the bank could not make: failed with the bank's reason, its amount credited back to the fund."""
    change_status(
        session, payment, PaymentStatus.FAILED, actor=actor, reason=reason,
        values={"failure_reason": reason, "settled_at": now},
    )  # fmt: skip
    reverse_payout(
        session=session, policy_year_id=batch.policy_year_id, amount_fen=payment.amount_fen,
        batch_id=batch.id, payment_id=payment.id, memo=reason,
    )  # fmt: skip


def _claims_follow(
    *, session: Session, paid: list[Payment], failed: list[Payment], now: datetime, actor: Actor
) -> None:
    """The claims of paid payments become paid, those of failed ones payment_failed (with the reason)."""
    change_status_bulk(
        session, Claim, [p.claim_id for p in paid], ClaimStatus.PAID, actor=actor, values={"paid_at": now}
    )
    if failed:
        change_status_bulk(
            session, Claim, [p.claim_id for p in failed], ClaimStatus.PAYMENT_FAILED, actor=actor,
            reasons={p.claim_id: p.failure_reason or "" for p in failed},
        )  # fmt: skip


def retry_failed(*, session: Session, claim_ids: list[int], actor: Actor) -> int:
    """After the member corrected their bank card, failed claims become payable again."""
    ids = list(
        session.exec(
            select(Claim.id).where(col(Claim.id).in_(claim_ids), Claim.status == ClaimStatus.PAYMENT_FAILED)
        ).all()
    )
    return len(change_status_bulk(session, Claim, [i for i in ids if i], ClaimStatus.PAYABLE, actor=actor))
