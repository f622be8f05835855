"""Public disclosure (DOMAIN 2.9): beneficiaries paid in a period (de-identified) and the fund's figures,
published as HTML (zh-CN), CSV and JSON with a SHA-256 manifest."""

from __future__ import annotations

import csv
import io
import json
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

from core.storage.base import ObjectStore
from models.base import as_utc, fen_to_yuan, utcnow
from models.claims import Claim
from models.enrolments import Enrolment, EnrolmentStatus
from models.funds import FundAccount, FundReceipt, FundSource
from models.members import Member
from models.org import OrgUnit
from models.payments import Payment, PaymentStatus
from models.programmes import PolicyYear, Programme
from models.publications import Publication, PublicationKind
from models.states import Actor
from tasks.common.labels import label
from tasks.common.masking import mask_id_number, mask_name
from tasks.common.publishing import latest, publish
from tasks.common.render import render

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
        .join(Claim, Claim.id == Payment.claim_id)  # type: ignore[arg-type]
        .join(Member, Member.id == Claim.member_id)  # type: ignore[arg-type]
        .join(OrgUnit, OrgUnit.id == Claim.org_unit_id)  # type: ignore[arg-type]
        .outerjoin(county, county.id == OrgUnit.parent_id)  # type: ignore[arg-type]
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
    by_source = dict(
        session.exec(
            select(FundReceipt.source, func.sum(FundReceipt.amount_fen))
            .where(FundReceipt.policy_year_id == policy_year.id)
            .group_by(FundReceipt.source)  # type: ignore[arg-type]
        ).all()
    )
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
    contributions = int(by_source.get(FundSource.CONTRIBUTION, 0) or 0)
    ratio = (
        (Decimal(account.payouts_fen) / Decimal(contributions)).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        if contributions
        else Decimal(0)
    )
    return {
        "members_enrolled": int(members),
        "contributions_by_source": [
            {
                "source": str(s),
                "source_label": label("fund_source", str(s)),
                "amount_fen": int(by_source.get(s, 0) or 0),
            }
            for s in FundSource
        ],
        "contributions_total_fen": account.receipts_fen,
        "payouts_fen": account.payouts_fen,
        "beneficiaries": int(paid_claims),
        "claim_ratio": ratio,
        "balance_fen": account.balance_fen,
    }


def _breakdown(rows: list[dict[str, Any]], key: str, name: str) -> list[dict[str, Any]]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        totals[row[key]][0] += 1
        totals[row[key]][1] += row["amount_fen"]
    return [{name: k, "beneficiaries": n, "payouts_fen": amt} for k, (n, amt) in sorted(totals.items())]


def disclosure_context(*, session: Session, policy_year: PolicyYear, period: str) -> dict[str, Any]:
    """Everything the disclosure shows, already de-identified."""
    programme = session.get(Programme, policy_year.programme_id)
    rules = policy_year.policy()
    paid = beneficiaries(session=session, policy_year=policy_year, period=period)
    days = sorted(row["days_to_pay"] for row in paid)
    processing = {
        "count": len(days),
        "median_days": round(statistics.median(days), 1) if days else 0,
        "p90_days": round(days[min(len(days) - 1, int(len(days) * 0.9))], 1) if days else 0,
    }
    return {
        "title": f"{programme.name if programme else ''}信息公开（{period}）",
        "programme_name": programme.name if programme else "",
        "period": period,
        "figures": fund_figures(session=session, policy_year=policy_year),
        "by_county": _breakdown(paid, "county", "county"),
        "by_benefit": _breakdown(paid, "benefit_label", "benefit_label"),
        "processing": processing,
        "beneficiaries": [{k: v for k, v in row.items() if k != "days_to_pay"} for row in paid],
        "hotline": rules.hotline,
        "report_email": rules.report_email,
    }


def _csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["姓名", "身份证号", "单位", "县区", "补偿类型", "金额(元)", "发放日期"])
    for r in rows:
        writer.writerow([r["name_masked"], r["id_masked"], r["unit"], r["county"], r["benefit_label"],
                         f"{fen_to_yuan(r['amount_fen'])}", r["paid_on"].isoformat()])  # fmt: skip
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def publish_disclosure(
    *, session: Session, store: ObjectStore, policy_year: PolicyYear, period: str, actor: Actor
) -> Publication:
    """Publish (or correct, as a new version) the disclosure of a period."""
    context = disclosure_context(session=session, policy_year=policy_year, period=period)
    previous = latest(
        session=session, kind=PublicationKind.DISCLOSURE, policy_year_id=policy_year.id or 0, period=period
    )
    context["version"] = (previous.version + 1) if previous else 1
    context["replaces_version"] = previous.version if previous else None
    context["published_at"] = utcnow()
    html = render("disclosure.html.j2", context)
    data = json.dumps(context, ensure_ascii=False, indent=2, default=_json_default).encode("utf-8")
    return publish(
        session=session,
        store=store,
        kind=PublicationKind.DISCLOSURE,
        policy_year=policy_year,
        period=period,
        title=context["title"],
        files={
            "disclosure.html": (html.encode("utf-8"), "text/html; charset=utf-8"),
            "beneficiaries.csv": (_csv(context["beneficiaries"]), "text/csv; charset=utf-8"),
            "disclosure.json": (data, "application/json"),
        },
        actor=actor,
    )
