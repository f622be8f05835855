"""The earmarked fund of a policy year and its ledger (DOMAIN 2.4): receipts in, payouts out, their reversals.

Every movement of money is a ledger entry plus one atomic UPDATE of the year's fund account
(`SET x = x + :amount`, never read-modify-write). A payout is a conditional UPDATE that only succeeds while
the balance covers it, and the database's check constraints refuse a negative balance whatever the code does.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import Session

from models.base import yuan_to_fen
from models.errors import Conflict, NotFound, ValidationFailed
from models.funds import FundAccount, FundReceipt, FundSource, LedgerEntry, LedgerKind
from models.programmes import PolicyYear

ACCOUNT = FundAccount.__table__  # type: ignore[attr-defined]
RECEIPT = FundReceipt.__table__  # type: ignore[attr-defined]
# Yuan as people write it: digits (optionally grouped by commas), at most two decimals; 12 integer digits at most.
YUAN_RE = re.compile(r"([0-9]{1,3}(,[0-9]{3}){0,3}|[0-9]{1,12})(\.[0-9]{1,2})?")
# A payout and its reversal: the account column that must cover the amount, the sign of the change to the
# payouts (the balance moves the other way), and the refusal when it does not.
PAYOUT_MOVES = {
    LedgerKind.PAYOUT: ("balance_fen", 1, "基金余额不足，不能支付"),
    LedgerKind.PAYOUT_REVERSED: ("payouts_fen", -1, "冲回金额超过已支付金额"),
}


@dataclass(frozen=True)
class FundFigures:
    """A year's fund totals, and receipts per source."""

    receipts_fen: int
    payouts_fen: int
    balance_fen: int
    by_source: dict[str, int]


def parse_yuan(text: str) -> int:
    """An amount in yuan written as a decimal string ("1234.56", "1,234.5") as integer fen; must be > 0.

    Full-width digits and punctuation (as Chinese input methods type them) count as their ASCII forms.
    """
    cleaned = unicodedata.normalize("NFKC", text).strip() if isinstance(text, str) else ""
    if not YUAN_RE.fullmatch(cleaned):
        raise ValidationFailed("金额格式无效：应为以元为单位、最多两位小数的正数，例如 1234.56", code="invalid_amount")
    fen = yuan_to_fen(Decimal(cleaned.replace(",", "")))
    if fen <= 0:
        raise ValidationFailed("金额必须大于0", code="invalid_amount")
    return fen


def _positive(amount_fen: int) -> None:
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise ValidationFailed("金额必须是大于0的整数（分）")


def _book(session: Session, policy_year_id: int, *, receipts: int = 0, payouts: int = 0, only_if: Any = None) -> bool:
    """Add to the year's receipts and/or payouts (negative payouts: a reversal) and move the balance with them,
    in one UPDATE, optionally only while `only_if` holds; whether the account row was updated."""
    a = ACCOUNT.c
    stmt = (
        update(ACCOUNT)
        .where(a.policy_year_id == policy_year_id)
        .values(
            receipts_fen=a.receipts_fen + receipts,
            payouts_fen=a.payouts_fen + payouts,
            balance_fen=a.balance_fen + receipts - payouts,
        )
    )
    if only_if is not None:
        stmt = stmt.where(only_if)
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def _require_account(session: Session, policy_year_id: int) -> None:
    if session.scalar(select(ACCOUNT.c.id).where(ACCOUNT.c.policy_year_id == policy_year_id)) is None:
        raise NotFound("该保障年度没有基金账户")


def _refuse_taken_reference(session: Session, policy_year_id: int, reference: str) -> None:
    """Conflict if the year already has a receipt under this reference (a voucher is booked once)."""
    taken = select(RECEIPT.c.id).where(RECEIPT.c.policy_year_id == policy_year_id, RECEIPT.c.reference == reference)
    if session.scalar(taken) is not None:
        raise Conflict(f"本年度已登记过凭证号为 {reference} 的收款")


def _enter(session: Session, entry: LedgerEntry) -> LedgerEntry:
    """Add the ledger entry and flush it."""
    session.add(entry)
    session.flush()
    return entry


def record_receipt(
    *,
    session: Session,
    policy_year: PolicyYear,
    source: FundSource,
    payer: str,
    amount_fen: int,
    received_on: date,
    reference: str,
    payer_org_id: int | None = None,
    member_count: int = 0,
    recorded_by: int | None = None,
) -> FundReceipt:
    """Record money received into the year's fund: the receipt, its ledger entry and the account totals."""
    _positive(amount_fen)
    reference, payer = reference.strip(), payer.strip()
    if not reference or not payer:
        raise ValidationFailed("付款方和收款凭证号不能为空")
    assert policy_year.id is not None
    _refuse_taken_reference(session, policy_year.id, reference)
    if not _book(session, policy_year.id, receipts=amount_fen):
        raise NotFound("该保障年度没有基金账户")
    receipt = FundReceipt(
        policy_year_id=policy_year.id, source=source, payer=payer, payer_org_id=payer_org_id, amount_fen=amount_fen,
        received_on=received_on, reference=reference, member_count=member_count, recorded_by=recorded_by,
    )  # fmt: skip
    session.add(receipt)
    session.flush()
    _enter(
        session,
        LedgerEntry(
            policy_year_id=policy_year.id, kind=LedgerKind.RECEIPT, amount_fen=amount_fen, receipt_id=receipt.id
        ),
    )
    return receipt


def _move_payouts(
    session: Session,
    kind: LedgerKind,
    policy_year_id: int,
    amount_fen: int,
    *,
    batch_id: int | None,
    payment_id: int | None,
    memo: str | None,
) -> LedgerEntry:
    """A payout or its reversal (kind, see PAYOUT_MOVES), only while the account covers it (else Conflict)."""
    _positive(amount_fen)
    cover, sign, refusal = PAYOUT_MOVES[kind]
    if not _book(session, policy_year_id, payouts=sign * amount_fen, only_if=ACCOUNT.c[cover] >= amount_fen):
        _require_account(session, policy_year_id)
        raise Conflict(refusal)
    return _enter(
        session,
        LedgerEntry(
            policy_year_id=policy_year_id,
            kind=kind,
            amount_fen=-sign * amount_fen,
            batch_id=batch_id,
            payment_id=payment_id,
            memo=memo,
        ),
    )


def post_payout(
    *,
    session: Session,
    policy_year_id: int,
    amount_fen: int,
    batch_id: int | None = None,
    payment_id: int | None = None,
    memo: str | None = None,
) -> LedgerEntry:
    """Pay out of the fund, only if the balance covers it (else Conflict); books a negative ledger entry."""
    return _move_payouts(
        session, LedgerKind.PAYOUT, policy_year_id, amount_fen, batch_id=batch_id, payment_id=payment_id, memo=memo
    )


def reverse_payout(
    *,
    session: Session,
    policy_year_id: int,
    amount_fen: int,
    batch_id: int | None = None,
    payment_id: int | None = None,
    memo: str | None = None,
) -> LedgerEntry:
    """Put a failed payment's amount back into the fund (payouts decrease, balance increases)."""
    return _move_payouts(
        session,
        LedgerKind.PAYOUT_REVERSED,
        policy_year_id,
        amount_fen,
        batch_id=batch_id,
        payment_id=payment_id,
        memo=memo,
    )


def fund_balance(*, session: Session, policy_year_id: int) -> FundFigures:
    """The year's receipts, payouts and balance, and receipts by source (every source, 0 if none)."""
    account = session.execute(
        select(ACCOUNT.c.receipts_fen, ACCOUNT.c.payouts_fen, ACCOUNT.c.balance_fen).where(
            ACCOUNT.c.policy_year_id == policy_year_id
        )
    ).first()
    if account is None:
        raise NotFound("该保障年度没有基金账户")
    by_source = {str(source): 0 for source in FundSource}
    sums = session.execute(
        select(RECEIPT.c.source, func.sum(RECEIPT.c.amount_fen))
        .where(RECEIPT.c.policy_year_id == policy_year_id)
        .group_by(RECEIPT.c.source)
    ).all()
    by_source.update({str(source): int(total) for source, total in sums})
    return FundFigures(int(account.receipts_fen), int(account.payouts_fen), int(account.balance_fen), by_source)
