"""Reconciling unit contributions (DOMAIN 2.4): what each unit should have paid against what it did pay.

Three grouped queries whatever the number of units: the year's enrolments per unit, its contribution
receipts per paying unit, and the units' codes and names. The result also goes out as a spreadsheet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlmodel import Session

from models.base import format_yuan
from models.enrolments import Enrolment, EnrolmentStatus
from models.funds import FundReceipt, FundSource
from models.org import OrgUnit
from models.programmes import PolicyYear
from tasks.common.spreadsheet import excel_csv, text_cell

ENROLMENT = Enrolment.__table__  # type: ignore[attr-defined]
ORG_UNIT = OrgUnit.__table__  # type: ignore[attr-defined]
RECEIPT = FundReceipt.__table__  # type: ignore[attr-defined]
RECONCILIATION_HEADER = ("单位编码", "单位名称", "应缴金额(元)", "实缴金额(元)", "差额(元)", "登记人数", "已缴费人数")


@dataclass(frozen=True)
class UnitReconciliation:
    """What a unit should have paid for its members against what it did pay."""

    unit_id: int
    unit_code: str
    unit_name: str
    expected_fen: int
    received_fen: int
    difference_fen: int  # received − expected: positive overpaid, negative owing
    members_enrolled: int
    members_activated: int


def _enrolments_by_unit(session: Session, policy_year_id: int | None) -> dict[int, Any]:
    """Per unit: its enrolments of the year, how many are active and eligible, and the active ones' contributions."""
    e = ENROLMENT
    active = e.c.status == str(EnrolmentStatus.ACTIVE)
    eligible = e.c.status == str(EnrolmentStatus.ELIGIBLE)
    return {
        row.unit_id: row
        for row in session.execute(
            select(
                e.c.org_unit_id.label("unit_id"),
                func.count().label("enrolled"),
                func.sum(case((active, 1), else_=0)).label("activated"),
                func.sum(case((eligible, 1), else_=0)).label("eligible"),
                func.sum(case((active, e.c.contribution_fen), else_=0)).label("active_fen"),
            )
            .where(e.c.policy_year_id == policy_year_id)
            .group_by(e.c.org_unit_id)
        )
    }


def _received_by_unit(session: Session, policy_year_id: int | None) -> dict[int, int]:
    """Per paying unit: the sum of its contribution receipts of the year."""
    return dict(
        iter(
            session.execute(
                select(RECEIPT.c.payer_org_id, func.sum(RECEIPT.c.amount_fen))
                .where(
                    RECEIPT.c.policy_year_id == policy_year_id,
                    RECEIPT.c.source == str(FundSource.CONTRIBUTION),
                    RECEIPT.c.payer_org_id.is_not(None),
                )
                .group_by(RECEIPT.c.payer_org_id)
            ).tuples()
        )
    )


def _units(session: Session, unit_ids: list[int]) -> dict[int, Any]:
    """id → (id, code, name) of the units."""
    return {
        row.id: row
        for row in session.execute(
            select(ORG_UNIT.c.id, ORG_UNIT.c.code, ORG_UNIT.c.name).where(ORG_UNIT.c.id.in_(unit_ids))
        )
    }


def reconcile_units(*, session: Session, policy_year: PolicyYear) -> list[UnitReconciliation]:
    """Per unit: contributions due for its eligible and active enrolments against its contribution receipts."""
    enrolments = _enrolments_by_unit(session, policy_year.id)
    received = _received_by_unit(session, policy_year.id)
    unit_ids = sorted(set(enrolments) | set(received))
    units = _units(session, unit_ids)
    contribution = policy_year.policy().contribution_fen
    result: list[UnitReconciliation] = []
    for unit_id in unit_ids:
        row = enrolments.get(unit_id)
        expected = int(row.active_fen) + int(row.eligible) * contribution if row else 0
        paid = int(received.get(unit_id) or 0)
        result.append(
            UnitReconciliation(
                unit_id=unit_id,
                unit_code=units[unit_id].code if unit_id in units else "",
                unit_name=units[unit_id].name if unit_id in units else "",
                expected_fen=expected,
                received_fen=paid,
                difference_fen=paid - expected,
                members_enrolled=int(row.enrolled) if row else 0,
                members_activated=int(row.activated) if row else 0,
            )
        )
    return result


def _plain_yuan(fen: int) -> str:
    """Fen as '1234.56' (no grouping), a number Excel reads as such."""
    return format_yuan(fen).replace(",", "")


def _csv_line(r: UnitReconciliation) -> list[object]:
    """One unit's line: code and name as text cells, amounts in yuan, the member counts."""
    amounts = (r.expected_fen, r.received_fen, r.difference_fen)
    return [
        text_cell(r.unit_code), text_cell(r.unit_name), *(_plain_yuan(a) for a in amounts),
        r.members_enrolled, r.members_activated,
    ]  # fmt: skip


def reconciliation_csv(rows: Sequence[UnitReconciliation]) -> bytes:
    """The reconciliation as a CSV for Excel (UTF-8 with BOM, CRLF), amounts in yuan, with a total line."""
    lines = [_csv_line(r) for r in rows]
    totals = (sum(r.expected_fen for r in rows), sum(r.received_fen for r in rows), sum(r.difference_fen for r in rows))
    lines.append(
        ["合计", "", *(_plain_yuan(a) for a in totals),
         sum(r.members_enrolled for r in rows), sum(r.members_activated for r in rows)]
    )  # fmt: skip
    return excel_csv(RECONCILIATION_HEADER, lines)
