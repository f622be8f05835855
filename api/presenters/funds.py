"""Presenters of fund collection: a receipt, the year's fund figures, and the units' reconciliation.

Every amount leaves both as '1,234.56' yuan and as integer fen, never as a float.
"""

from __future__ import annotations

from api.schemas import FundPublic, ReceiptPublic, ReconciliationPublic, SourceTotal, UnitReconciliationPublic
from models.base import as_utc, format_yuan
from models.funds import FundReceipt, FundSource
from tasks.common.labels import label
from tasks.funds.ledger import FundFigures
from tasks.funds.reconciliation import UnitReconciliation


def receipt_public(receipt: FundReceipt, payer_unit_code: str | None, language: str = "zh-CN") -> ReceiptPublic:
    """A receipt as finance sees it."""
    assert receipt.id is not None
    return ReceiptPublic(
        id=receipt.id,
        source=FundSource(receipt.source),
        source_label=label("fund_source", str(receipt.source), language),
        payer=receipt.payer,
        payer_unit_code=payer_unit_code,
        amount_yuan=format_yuan(receipt.amount_fen),
        amount_fen=receipt.amount_fen,
        received_on=receipt.received_on,
        reference=receipt.reference,
        member_count=receipt.member_count,
        recorded_at=as_utc(receipt.recorded_at),
    )


def fund_public(programme_code: str, year: int, figures: FundFigures, language: str = "zh-CN") -> FundPublic:
    """The year's fund figures, every amount both as '1,234.56' yuan and as integer fen."""
    return FundPublic(
        programme_code=programme_code,
        year=year,
        receipts_yuan=format_yuan(figures.receipts_fen),
        receipts_fen=figures.receipts_fen,
        payouts_yuan=format_yuan(figures.payouts_fen),
        payouts_fen=figures.payouts_fen,
        balance_yuan=format_yuan(figures.balance_fen),
        balance_fen=figures.balance_fen,
        by_source=[
            SourceTotal(
                source=FundSource(source),
                label=label("fund_source", source, language),
                amount_yuan=format_yuan(fen),
                amount_fen=fen,
            )
            for source, fen in figures.by_source.items()
        ],
    )


def _unit_row(
    code: str, name: str, expected: int, received: int, enrolled: int, activated: int
) -> UnitReconciliationPublic:
    return UnitReconciliationPublic(
        unit_code=code,
        unit_name=name,
        expected_yuan=format_yuan(expected),
        expected_fen=expected,
        received_yuan=format_yuan(received),
        received_fen=received,
        difference_yuan=format_yuan(received - expected),
        difference_fen=received - expected,
        members_enrolled=enrolled,
        members_activated=activated,
    )


def reconciliation_public(programme_code: str, year: int, rows: list[UnitReconciliation]) -> ReconciliationPublic:
    """Every unit's expected and received contributions, and the totals."""
    units = [
        _unit_row(r.unit_code, r.unit_name, r.expected_fen, r.received_fen, r.members_enrolled, r.members_activated)
        for r in rows
    ]
    totals = _unit_row(
        "",
        "合计",
        sum(r.expected_fen for r in rows),
        sum(r.received_fen for r in rows),
        sum(r.members_enrolled for r in rows),
        sum(r.members_activated for r in rows),
    )
    return ReconciliationPublic(programme_code=programme_code, year=year, units=units, totals=totals)
