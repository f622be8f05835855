"""Step 4, fund collection (资金筹集): unit payments activate coverage; other receipts join the fund."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow
from pydantic import BaseModel

from flows.common import chunk_task, policy_year_of, report
from models.base import format_yuan
from models.funds import FundSource
from models.states import Actor
from mutualaid.db import session_scope
from tasks.funds import collect_unit_contribution, fund_balance, record_receipt
from tasks.orgs import get_by_code

FLOW_ACTOR = Actor(None, "flow:fund-collection")


class UnitPayment(BaseModel):
    """A unit's payment for its roster (or for listed members)."""

    unit_code: str
    received_on: date
    reference: str
    member_ids: list[int] | None = None


class OtherReceipt(BaseModel):
    """Union subsidy, donation or government funding."""

    source: FundSource
    payer: str
    amount_fen: int
    received_on: date
    reference: str


@chunk_task
def collect_units(programme_code: str, year: int, payments: list[UnitPayment]) -> dict[str, int]:
    """Record a chunk of unit payments and activate the members they pay for."""
    policy_year = policy_year_of(programme_code, year)
    activated = amount = 0
    with session_scope() as session:
        for payment in payments:
            unit = get_by_code(session=session, code=payment.unit_code)
            collected = collect_unit_contribution(
                session=session, policy_year=policy_year, unit=unit, received_on=payment.received_on,
                reference=payment.reference, member_ids=payment.member_ids, actor=FLOW_ACTOR,
            )  # fmt: skip
            activated += collected.activated
            amount += collected.amount_fen
    return {"units": len(payments), "activated": activated, "amount_fen": amount}


@chunk_task
def record_receipts(programme_code: str, year: int, receipts: list[OtherReceipt]) -> int:
    """Record receipts from other sources."""
    policy_year = policy_year_of(programme_code, year)
    with session_scope() as session:
        for r in receipts:
            record_receipt(
                session=session, policy_year=policy_year, source=r.source, payer=r.payer, amount_fen=r.amount_fen,
                received_on=r.received_on, reference=r.reference,
            )  # fmt: skip
    return sum(r.amount_fen for r in receipts)


@flow(name="fund-collection")
def fund_collection_flow(
    programme_code: str, year: int, unit_payments: list[UnitPayment], other_receipts: list[OtherReceipt] | None = None
) -> dict[str, Any]:
    """Record unit contributions (activating coverage) and other receipts; report the fund."""
    size = 200  # units per task run: each unit's activation is itself set-based
    futures = [
        collect_units.submit(programme_code, year, unit_payments[i : i + size])
        for i in range(0, len(unit_payments), size)
    ]
    collected = [f.result() for f in futures]
    other = record_receipts(programme_code, year, other_receipts) if other_receipts else 0
    policy_year = policy_year_of(programme_code, year)
    with session_scope() as session:
        figures = fund_balance(session=session, policy_year_id=policy_year.id or 0)
    return report(
        "fund-collection",
        f"{year} 资金筹集",
        {
            "units_paid": sum(c["units"] for c in collected),
            "members_activated": sum(c["activated"] for c in collected),
            "contributions_yuan": format_yuan(sum(c["amount_fen"] for c in collected)),
            "other_receipts_yuan": format_yuan(other),
            "balance_yuan": format_yuan(figures.balance_fen),
        },
    )
