"""Unit contributions (DOMAIN 2.4): a unit pays for its eligible members, whose cover then starts.

One payment is one receipt (tasks.funds.ledger) for every enrolment it activates. Cover starts after the
year's waiting period, or on the year's first day for a renewal paid before the year; an enrolment whose
cover would only start after the year ends is refused and stays eligible.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from models.enrolments import Enrolment, EnrolmentKind, EnrolmentStatus
from models.errors import Conflict, ValidationFailed
from models.funds import FundReceipt, FundSource
from models.org import OrgUnit
from models.programmes import PolicyYear
from models.states import SYSTEM, Actor, change_status_bulk
from tasks.funds.ledger import record_receipt

ENROLMENT = Enrolment.__table__  # type: ignore[attr-defined]
WAITING_PAST_YEAR_END = "等待期结束时已超出本保障年度"


@dataclass
class UnitCollection:
    """A unit's contribution: the receipt, how many enrolments it activated, the amount, and those refused."""

    receipt: FundReceipt
    activated: int
    amount_fen: int
    refused: list[int] = field(default_factory=list)  # enrolment ids left eligible: waiting past year end


def coverage_start(policy_year: PolicyYear, kind: str, paid_on: date) -> date:
    """When cover begins: a renewal paid before the year from its first day, else after the waiting period."""
    if kind == EnrolmentKind.RENEWAL and paid_on < policy_year.starts_on:
        return policy_year.starts_on
    return max(policy_year.starts_on, paid_on + timedelta(days=policy_year.policy().waiting_days))


def is_covered(enrolment: Enrolment, on: date) -> bool:
    """Whether the enrolment covers the day: active (paid) and inside its coverage dates."""
    if enrolment.status != EnrolmentStatus.ACTIVE or enrolment.coverage_start is None or enrolment.coverage_end is None:
        return False
    return enrolment.coverage_start <= on <= enrolment.coverage_end


def _eligible_enrolments(
    session: Session, policy_year: PolicyYear, unit: OrgUnit, member_ids: list[int] | None
) -> Sequence[Any]:
    """(id, kind) of the unit's eligible enrolments of the year (or the listed members'), locked, in id order."""
    stmt = select(ENROLMENT.c.id, ENROLMENT.c.kind).where(
        ENROLMENT.c.policy_year_id == policy_year.id,
        ENROLMENT.c.org_unit_id == unit.id,
        ENROLMENT.c.status == str(EnrolmentStatus.ELIGIBLE),
    )
    if member_ids is not None:
        stmt = stmt.where(ENROLMENT.c.member_id.in_(member_ids))
    return session.execute(stmt.order_by(ENROLMENT.c.id).with_for_update()).all()


def _by_coverage_start(
    policy_year: PolicyYear, rows: Sequence[Any], received_on: date
) -> tuple[dict[date, list[int]], list[int]]:
    """The enrolment ids by the day their cover starts, and those refused (cover would start after the year)."""
    by_start: dict[date, list[int]] = defaultdict(list)
    refused: list[int] = []
    for row in rows:
        start = coverage_start(policy_year, row.kind, received_on)
        (refused if start > policy_year.ends_on else by_start[start]).append(row.id)
    return by_start, refused


def _activate(
    session: Session,
    policy_year: PolicyYear,
    by_start: dict[date, list[int]],
    *,
    paid_on: date,
    receipt_id: int | None,
    contribution_fen: int,
    actor: Actor,
) -> None:
    """Make the enrolments active, paid by the receipt, each group from its start day (Conflict if one moved)."""
    for start, ids in by_start.items():
        values = {
            "paid_on": paid_on,
            "receipt_id": receipt_id,
            "coverage_start": start,
            "coverage_end": policy_year.ends_on,
            "contribution_fen": contribution_fen,
        }
        moved = change_status_bulk(
            session, Enrolment, ids, EnrolmentStatus.ACTIVE, actor=actor, reason="已缴费", values=values
        )
        if len(moved) != len(ids):
            raise Conflict("部分登记已被他人修改，请重试")


def collect_unit_contribution(
    *,
    session: Session,
    policy_year: PolicyYear,
    unit: OrgUnit,
    received_on: date,
    reference: str,
    member_ids: list[int] | None = None,
    actor: Actor = SYSTEM,
) -> UnitCollection:
    """The unit pays for its eligible enrolments of the year (or the listed members'); they become active."""
    rows = _eligible_enrolments(session, policy_year, unit, member_ids)
    if not rows:
        raise ValidationFailed("没有审核通过、待缴费的登记")
    by_start, refused = _by_coverage_start(policy_year, rows, received_on)
    if not by_start:
        raise ValidationFailed(WAITING_PAST_YEAR_END)
    count = sum(len(ids) for ids in by_start.values())
    contribution = policy_year.policy().contribution_fen
    receipt = record_receipt(
        session=session, policy_year=policy_year, source=FundSource.CONTRIBUTION, payer=unit.name,
        amount_fen=count * contribution, received_on=received_on, reference=reference, payer_org_id=unit.id,
        member_count=count, recorded_by=actor.user_id,
    )  # fmt: skip
    _activate(
        session, policy_year, by_start, paid_on=received_on, receipt_id=receipt.id, contribution_fen=contribution,
        actor=actor,
    )  # fmt: skip
    return UnitCollection(receipt=receipt, activated=count, amount_fen=count * contribution, refused=refused)
