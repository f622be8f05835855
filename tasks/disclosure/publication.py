"""Public disclosure (DOMAIN 2.9), as published: a period's de-identified beneficiaries and the fund's figures
(tasks.disclosure.figures) rendered as HTML (zh-CN), CSV and JSON, with a SHA-256 manifest. A correction is a
new version of the same period."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from core.storage.base import ObjectStore
from models.base import fen_to_yuan, utcnow
from models.programmes import PolicyYear, Programme
from models.publications import Publication, PublicationKind
from models.states import Actor
from tasks.common.publishing import latest, publish
from tasks.common.render import render
from tasks.disclosure.figures import beneficiaries, breakdown, fund_figures, processing_times


def disclosure_context(*, session: Session, policy_year: PolicyYear, period: str) -> dict[str, Any]:
    """Everything the disclosure shows, already de-identified."""
    programme = session.get(Programme, policy_year.programme_id)
    rules = policy_year.policy()
    paid = beneficiaries(session=session, policy_year=policy_year, period=period)
    return {
        "title": f"{programme.name if programme else ''}信息公开（{period}）",
        "programme_name": programme.name if programme else "",
        "period": period,
        "figures": fund_figures(session=session, policy_year=policy_year),
        "by_county": breakdown(paid, "county", "county"),
        "by_benefit": breakdown(paid, "benefit_label", "benefit_label"),
        "processing": processing_times(paid),
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
