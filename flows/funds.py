"""Step 4, fund collection (资金筹集): unit payments activate coverage; other receipts join the fund.

Each unit's payment runs in its own savepoint: a payment the rules refuse (nothing to collect, a taken
reference, an unknown unit, cover that would start after the year) is reported and the other units proceed.
Per-unit activations and the refused payments are kept as Prefect table artifacts.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from core.db import session_scope
from flows.common import chunk_task, policy_year_of, report
from models.base import format_yuan
from models.errors import DomainError
from models.funds import FundSource
from models.states import Actor
from tasks.common.orgs import get_by_code
from tasks.funds.contributions import collect_unit_contribution
from tasks.funds.ledger import fund_balance, record_receipt

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


class UnitOutcome(BaseModel):
    """What one unit's payment did: members activated and the amount, or why it was refused."""

    unit_code: str
    reference: str
    activated: int = 0
    not_activated: int = 0  # members whose cover would start after the year ends
    amount_fen: int = 0
    refused: str | None = None


@chunk_task
def collect_units(programme_code: str, year: int, payments: list[UnitPayment]) -> list[UnitOutcome]:
    """Record a chunk of unit payments, each in its own savepoint, and activate the members they pay for."""
    policy_year = policy_year_of(programme_code, year)
    outcomes: list[UnitOutcome] = []
    with session_scope() as session:
        for payment in payments:
            outcome = UnitOutcome(unit_code=payment.unit_code, reference=payment.reference)
            try:
                with session.begin_nested():
                    unit = get_by_code(session=session, code=payment.unit_code)
                    collected = collect_unit_contribution(
                        session=session, policy_year=policy_year, unit=unit, received_on=payment.received_on,
                        reference=payment.reference, member_ids=payment.member_ids, actor=FLOW_ACTOR,
                    )  # fmt: skip
            except DomainError as exc:
                outcome.refused = exc.message
            except IntegrityError:  # a concurrent payment took the reference first
                outcome.refused = "数据冲突：凭证号已被使用或登记已被他人修改"
            else:
                outcome.activated, outcome.amount_fen = collected.activated, collected.amount_fen
                outcome.not_activated = len(collected.refused)
            outcomes.append(outcome)
    return outcomes


def report_units(year: int, outcomes: list[UnitOutcome]) -> None:
    """Per-unit activations, and the refused payments, as two table artifacts (the latter even when empty)."""
    paid = [o for o in outcomes if o.refused is None]
    refused = [o for o in outcomes if o.refused is not None]
    create_table_artifact(
        [
            {"单位": o.unit_code, "凭证号": o.reference, "缴费人数": o.activated, "金额(元)": format_yuan(o.amount_fen),
             "未激活人数": o.not_activated}
            for o in paid
        ],
        key="fund-collection-units",
        description=f"{year} 各单位缴费激活人数",
    )  # fmt: skip
    create_table_artifact(
        [{"单位": o.unit_code, "凭证号": o.reference, "原因": o.refused} for o in refused],
        key="fund-collection-refused",
        description=f"{year} 未能入账的单位缴费（{len(refused)} 笔）",
    )


@chunk_task
def record_receipts(programme_code: str, year: int, receipts: list[OtherReceipt]) -> tuple[int, dict[str, str]]:
    """Record receipts from other sources, each in its own savepoint; returns the amount and the refused ones."""
    policy_year = policy_year_of(programme_code, year)
    recorded, refused = 0, {}
    with session_scope() as session:
        for r in receipts:
            try:
                with session.begin_nested():
                    record_receipt(
                        session=session, policy_year=policy_year, source=r.source, payer=r.payer,
                        amount_fen=r.amount_fen, received_on=r.received_on, reference=r.reference,
                    )  # fmt: skip
                recorded += r.amount_fen
            except DomainError as exc:  # a duplicate reference on a re-run, an amount ≤ 0, …
                refused[r.reference] = exc.message
    return recorded, refused


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
    outcomes = [o for f in futures for o in f.result()]
    report_units(year, outcomes)
    other, receipts_refused = record_receipts(programme_code, year, other_receipts) if other_receipts else (0, {})
    policy_year = policy_year_of(programme_code, year)
    with session_scope() as session:
        figures = fund_balance(session=session, policy_year_id=policy_year.id or 0)
    paid = [o for o in outcomes if o.refused is None]
    return report(
        "fund-collection",
        f"{year} 资金筹集",
        {
            "units_paid": len(paid),
            "units_refused": len(outcomes) - len(paid),
            "members_activated": sum(o.activated for o in paid),
            "contributions_yuan": format_yuan(sum(o.amount_fen for o in paid)),
            "other_receipts_yuan": format_yuan(other),
            "receipts_refused": len(receipts_refused),
            "balance_yuan": format_yuan(figures.balance_fen),
        },
    )
