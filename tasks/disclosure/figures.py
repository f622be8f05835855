"""Public disclosure (DOMAIN 2.9), what is counted: the beneficiaries paid in a period (de-identified), their
breakdowns and processing times, and the fund's figures to date. tasks.disclosure.publication renders and
publishes them."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from models.base import as_utc
from models.claims import Claim
from models.enrolments import Enrolment, EnrolmentStatus
from models.funds import FundAccount, FundReceipt, FundSource
from models.members import Member
from models.org import OrgUnit
from models.payments import Payment, PaymentStatus
from models.programmes import PolicyYear
from tasks.common.labels import label
from tasks.common.masking import mask_id_number, mask_name

SHANGHAI = ZoneInfo("Asia/Shanghai")


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """UTC bounds [start, end) of '2026' or '2026-11' in Shanghai time."""
    if len(period) == 4:
        start, end = date(int(period), 1, 1), date(int(period) + 1, 1, 1)
    else:
        year, month = int(period[:4]), int(period[5:7])
        start = date(year, month, 1)
        end = date(year + (month == 12), month % 12 + 1, 1)
    return (
        datetime.combine(start, time(), SHANGHAI).astimezone(ZoneInfo("UTC")),
        datetime.combine(end, time(), SHANGHAI).astimezone(ZoneInfo("UTC")),
    )


def beneficiaries(*, session: Session, policy_year: PolicyYear, period: str) -> list[dict[str, Any]]:
    """De-identified payments settled in the period: no ID beyond its mask, no bank data, no diagnosis."""
    start, end = period_bounds(period)
    county = aliased(OrgUnit)
    rows = session.execute(
        sa_select(Member.name, Member.id_number, OrgUnit.name, county.name, Claim.benefit_type, Payment.amount_fen,  # type: ignore[call-overload]
               Payment.settled_at, Claim.submitted_at)
        .join(Claim, Claim.id == Payment.claim_id)
        .join(Member, Member.id == Claim.member_id)
        .join(OrgUnit, OrgUnit.id == Claim.org_unit_id)
        .outerjoin(county, county.id == OrgUnit.parent_id)
        .where(Claim.policy_year_id == policy_year.id, Payment.status == PaymentStatus.PAID,
               col(Payment.settled_at) >= start, col(Payment.settled_at) < end)
        .order_by(col(Payment.settled_at), col(Payment.id))
    ).all()  # fmt: skip
    return [
        {
            "name_masked": mask_name(name),
            "id_masked": mask_id_number(id_number),
            "unit": unit,
            "county": county_name or "",
            "benefit_type": str(benefit),
            "benefit_label": label("benefit_type", str(benefit)),
            "amount_fen": int(amount),
            "paid_on": as_utc(settled).astimezone(SHANGHAI).date(),
            "days_to_pay": (as_utc(settled) - as_utc(submitted)).total_seconds() / 86400,
        }
        for name, id_number, unit, county_name, benefit, amount, settled, submitted in rows
    ]


def fund_figures(*, session: Session, policy_year: PolicyYear) -> dict[str, Any]:
    """The year's fund to date: members, contributions by source, payouts, beneficiaries, ratio, balance."""
    account = session.exec(select(FundAccount).where(FundAccount.policy_year_id == policy_year.id)).one()
    by_source = _receipts_by_source(session=session, policy_year=policy_year)
    members = session.exec(
        select(func.count()).where(
            Enrolment.policy_year_id == policy_year.id, Enrolment.status == EnrolmentStatus.ACTIVE
        )
    ).one()
    paid_claims = session.exec(
        select(func.count(func.distinct(Claim.member_id)))
        .join(Payment, Payment.claim_id == Claim.id)  # type: ignore[arg-type]
        .where(Claim.policy_year_id == policy_year.id, Payment.status == PaymentStatus.PAID)
    ).one()
    return {
        "members_enrolled": int(members),
        "contributions_by_source": [
            {"source": str(s), "source_label": label("fund_source", str(s)), "amount_fen": int(by_source.get(s) or 0)}
            for s in FundSource
        ],
        "contributions_total_fen": account.receipts_fen,
        "payouts_fen": account.payouts_fen,
        "beneficiaries": int(paid_claims),
        "claim_ratio": _claim_ratio(account.payouts_fen, int(by_source.get(FundSource.CONTRIBUTION) or 0)),
        "balance_fen": account.balance_fen,
    }


def _receipts_by_source(*, session: Session, policy_year: PolicyYear) -> dict[Any, Any]:
    """The year's receipts summed by source (a source with none is missing)."""
    return dict(
        session.exec(
            select(FundReceipt.source, func.sum(FundReceipt.amount_fen))
            .where(FundReceipt.policy_year_id == policy_year.id)
            .group_by(FundReceipt.source)
        ).all()
    )


def _claim_ratio(payouts_fen: int, contributions_fen: int) -> Decimal:
    """Payouts / contributions received, to 4 places half up (0 without contributions)."""
    if not contributions_fen:
        return Decimal(0)
    return (Decimal(payouts_fen) / Decimal(contributions_fen)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def breakdown(rows: list[dict[str, Any]], key: str, name: str) -> list[dict[str, Any]]:
    """Beneficiaries and payouts by one column of the paid rows (county, benefit), in its order."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        totals[row[key]][0] += 1
        totals[row[key]][1] += row["amount_fen"]
    return [{name: k, "beneficiaries": n, "payouts_fen": amt} for k, (n, amt) in sorted(totals.items())]


def processing_times(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """How long the paid claims took from filing to payment: count, median and 90th percentile, in days."""
    days = sorted(row["days_to_pay"] for row in rows)
    return {
        "count": len(days),
        "median_days": round(statistics.median(days), 1) if days else 0,
        "p90_days": round(days[min(len(days) - 1, int(len(days) * 0.9))], 1) if days else 0,
    }
