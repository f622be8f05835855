"""Fund collection and the earmarked ledger (DOMAIN 2.4): receipts, payouts, unit contributions, coverage.

Every movement of money is a ledger entry plus one atomic UPDATE of the year's fund account
(`SET x = x + :amount`, never read-modify-write). A payout is a conditional UPDATE that only succeeds while
the balance covers it, and the database's check constraints refuse a negative balance whatever the code does.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select, update
from sqlmodel import Session

from models.base import format_yuan, yuan_to_fen
from models.enrolments import Enrolment, EnrolmentKind, EnrolmentStatus
from models.errors import Conflict, NotFound, ValidationFailed
from models.funds import FundAccount, FundReceipt, FundSource, LedgerEntry, LedgerKind
from models.org import OrgUnit
from models.programmes import PolicyYear
from models.states import SYSTEM, Actor, change_status_bulk

ACCOUNT = FundAccount.__table__  # type: ignore[attr-defined]
RECEIPT = FundReceipt.__table__  # type: ignore[attr-defined]
ENROLMENT = Enrolment.__table__  # type: ignore[attr-defined]
ORG_UNIT = OrgUnit.__table__  # type: ignore[attr-defined]
WAITING_PAST_YEAR_END = "等待期结束时已超出本保障年度"
# Yuan as people write it: digits (optionally grouped by commas), at most two decimals; 12 integer digits at most.
YUAN_RE = re.compile(r"([0-9]{1,3}(,[0-9]{3}){0,3}|[0-9]{1,12})(\.[0-9]{1,2})?")
RECONCILIATION_HEADER = ("单位编码", "单位名称", "应缴金额(元)", "实缴金额(元)", "差额(元)", "登记人数", "已缴费人数")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class UnitCollection:
    """A unit's contribution: the receipt, how many enrolments it activated, the amount, and those refused."""

    receipt: FundReceipt
    activated: int
    amount_fen: int
    refused: list[int] = field(default_factory=list)  # enrolment ids left eligible: waiting past year end


@dataclass(frozen=True)
class FundFigures:
    """A year's fund totals, and receipts per source."""

    receipts_fen: int
    payouts_fen: int
    balance_fen: int
    by_source: dict[str, int]


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
    taken = select(RECEIPT.c.id).where(RECEIPT.c.policy_year_id == policy_year.id, RECEIPT.c.reference == reference)
    if session.scalar(taken) is not None:
        raise Conflict(f"本年度已登记过凭证号为 {reference} 的收款")
    if not _book(session, policy_year.id, receipts=amount_fen):
        raise NotFound("该保障年度没有基金账户")
    receipt = FundReceipt(
        policy_year_id=policy_year.id,
        source=source,
        payer=payer,
        payer_org_id=payer_org_id,
        amount_fen=amount_fen,
        received_on=received_on,
        reference=reference,
        member_count=member_count,
        recorded_by=recorded_by,
    )
    session.add(receipt)
    session.flush()
    session.add(
        LedgerEntry(
            policy_year_id=policy_year.id, kind=LedgerKind.RECEIPT, amount_fen=amount_fen, receipt_id=receipt.id
        )
    )
    session.flush()
    return receipt


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
    _positive(amount_fen)
    if not _book(session, policy_year_id, payouts=amount_fen, only_if=ACCOUNT.c.balance_fen >= amount_fen):
        _require_account(session, policy_year_id)
        raise Conflict("基金余额不足，不能支付")
    entry = LedgerEntry(
        policy_year_id=policy_year_id,
        kind=LedgerKind.PAYOUT,
        amount_fen=-amount_fen,
        batch_id=batch_id,
        payment_id=payment_id,
        memo=memo,
    )
    session.add(entry)
    session.flush()
    return entry


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
    _positive(amount_fen)
    if not _book(session, policy_year_id, payouts=-amount_fen, only_if=ACCOUNT.c.payouts_fen >= amount_fen):
        _require_account(session, policy_year_id)
        raise Conflict("冲回金额超过已支付金额")
    entry = LedgerEntry(
        policy_year_id=policy_year_id,
        kind=LedgerKind.PAYOUT_REVERSED,
        amount_fen=amount_fen,
        batch_id=batch_id,
        payment_id=payment_id,
        memo=memo,
    )
    session.add(entry)
    session.flush()
    return entry


def coverage_start(policy_year: PolicyYear, kind: str, paid_on: date) -> date:
    """When cover begins: a renewal paid before the year from its first day, else after the waiting period."""
    if kind == EnrolmentKind.RENEWAL and paid_on < policy_year.starts_on:
        return policy_year.starts_on
    return max(policy_year.starts_on, paid_on + timedelta(days=policy_year.policy().waiting_days))


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
    stmt = select(ENROLMENT.c.id, ENROLMENT.c.kind).where(
        ENROLMENT.c.policy_year_id == policy_year.id,
        ENROLMENT.c.org_unit_id == unit.id,
        ENROLMENT.c.status == str(EnrolmentStatus.ELIGIBLE),
    )
    if member_ids is not None:
        stmt = stmt.where(ENROLMENT.c.member_id.in_(member_ids))
    rows = session.execute(stmt.order_by(ENROLMENT.c.id).with_for_update()).all()
    if not rows:
        raise ValidationFailed("没有审核通过、待缴费的登记")
    by_start: dict[date, list[int]] = defaultdict(list)
    refused: list[int] = []
    for row in rows:
        start = coverage_start(policy_year, row.kind, received_on)
        (refused if start > policy_year.ends_on else by_start[start]).append(row.id)
    if not by_start:
        raise ValidationFailed(WAITING_PAST_YEAR_END)
    count = sum(len(ids) for ids in by_start.values())
    contribution = policy_year.policy().contribution_fen
    receipt = record_receipt(
        session=session,
        policy_year=policy_year,
        source=FundSource.CONTRIBUTION,
        payer=unit.name,
        amount_fen=count * contribution,
        received_on=received_on,
        reference=reference,
        payer_org_id=unit.id,
        member_count=count,
        recorded_by=actor.user_id,
    )
    for start, ids in by_start.items():
        values = {
            "paid_on": received_on,
            "receipt_id": receipt.id,
            "coverage_start": start,
            "coverage_end": policy_year.ends_on,
            "contribution_fen": contribution,
        }
        moved = change_status_bulk(
            session, Enrolment, ids, EnrolmentStatus.ACTIVE, actor=actor, reason="已缴费", values=values
        )
        if len(moved) != len(ids):
            raise Conflict("部分登记已被他人修改，请重试")
    return UnitCollection(receipt=receipt, activated=count, amount_fen=count * contribution, refused=refused)


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


def reconcile_units(*, session: Session, policy_year: PolicyYear) -> list[UnitReconciliation]:
    """Per unit: contributions due for its eligible and active enrolments against its contribution receipts."""
    e = ENROLMENT
    active = e.c.status == str(EnrolmentStatus.ACTIVE)
    eligible = e.c.status == str(EnrolmentStatus.ELIGIBLE)
    enrolments = {
        row.unit_id: row
        for row in session.execute(
            select(
                e.c.org_unit_id.label("unit_id"),
                func.count().label("enrolled"),
                func.sum(case((active, 1), else_=0)).label("activated"),
                func.sum(case((eligible, 1), else_=0)).label("eligible"),
                func.sum(case((active, e.c.contribution_fen), else_=0)).label("active_fen"),
            )
            .where(e.c.policy_year_id == policy_year.id)
            .group_by(e.c.org_unit_id)
        )
    }
    received: dict[int, int] = dict(
        iter(
            session.execute(
                select(RECEIPT.c.payer_org_id, func.sum(RECEIPT.c.amount_fen))
                .where(
                    RECEIPT.c.policy_year_id == policy_year.id,
                    RECEIPT.c.source == str(FundSource.CONTRIBUTION),
                    RECEIPT.c.payer_org_id.is_not(None),
                )
                .group_by(RECEIPT.c.payer_org_id)
            ).tuples()
        )
    )
    unit_ids = sorted(set(enrolments) | set(received))
    units = {
        row.id: row
        for row in session.execute(
            select(ORG_UNIT.c.id, ORG_UNIT.c.code, ORG_UNIT.c.name).where(ORG_UNIT.c.id.in_(unit_ids))
        )
    }
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


def _text_cell(value: str) -> str:
    """A text cell that a spreadsheet will never evaluate as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def reconciliation_csv(rows: Sequence[UnitReconciliation]) -> bytes:
    """The reconciliation as a CSV for Excel (UTF-8 with BOM, CRLF), amounts in yuan, with a total line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(RECONCILIATION_HEADER)
    for r in rows:
        amounts = (r.expected_fen, r.received_fen, r.difference_fen)
        writer.writerow(
            [_text_cell(r.unit_code), _text_cell(r.unit_name), *(_plain_yuan(a) for a in amounts),
             r.members_enrolled, r.members_activated]
        )  # fmt: skip
    totals = (sum(r.expected_fen for r in rows), sum(r.received_fen for r in rows), sum(r.difference_fen for r in rows))
    writer.writerow(
        ["合计", "", *(_plain_yuan(a) for a in totals),
         sum(r.members_enrolled for r in rows), sum(r.members_activated for r in rows)]
    )  # fmt: skip
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def is_covered(enrolment: Enrolment, on: date) -> bool:
    """Whether the enrolment covers the day: active (paid) and inside its coverage dates."""
    if enrolment.status != EnrolmentStatus.ACTIVE or enrolment.coverage_start is None or enrolment.coverage_end is None:
        return False
    return enrolment.coverage_start <= on <= enrolment.coverage_end
