"""The demo's closing summary: members, contributions, claims by outcome, amount paid, claim ratio,
and where the disclosure is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from core.settings import get_settings
from models.base import format_yuan
from models.claims import Claim
from models.letters import Letter
from models.notices import ClaimNotice, Objection
from models.payments import Payment, PaymentStatus
from models.programmes import PolicyYear, Programme
from models.publications import Publication, PublicationKind, PublishedFile
from mutualaid.demo.setup import PROGRAMME
from tasks.claims.what_if import simulate
from tasks.common.labels import label
from tasks.disclosure.figures import fund_figures

# What the demo asks of the what-if simulation: a richer ratio and a higher cap for next year.
WHAT_IF = {"benefits": {"hospitalisation": {"ratio": "0.75"}}, "annual_cap_fen": 3000000}


def what_if_lines(*, session: Session, policy_year: PolicyYear) -> list[str]:
    """The year's claims re-run with ratio 75 % and cap 30,000, beside what they were granted."""
    report = simulate(session=session, policy_year=policy_year, changes=WHAT_IF)
    actual, projected = report.actual, report.projected
    return [
        "what-if: ratio 75 %, annual cap 30,000 (the year's granted claims re-run)",
        f"  granted payouts           {actual.payouts_yuan:>10} → {projected.payouts_yuan} CNY"
        f" ({report.payouts_up} claims up, {report.payouts_down} down)",
        f"  claim ratio if all paid   {actual.claim_ratio * 100:>9.2f}% → {projected.claim_ratio * 100:.2f}%",
    ]


def approval_lines(*, session: Session, results: dict[str, Any]) -> list[str]:
    """Decisions, the public notice and its objections, and the deadline sweep, as the demo ran them."""
    decisions: dict[str, int] = {}
    for key in ("decisions", "objection_decisions"):
        for outcome, n in (results.get(key) or {}).items():
            decisions[outcome] = decisions.get(outcome, 0) + n
    left_open = decisions.pop("left_open", 0)
    objections = dict(session.exec(select(Objection.status, func.count()).group_by(Objection.status)).all())
    notices = session.exec(select(func.count()).select_from(ClaimNotice)).one()
    sweep = results.get("deadline_sweep") or {}
    letters = dict(session.exec(select(Letter.kind, func.count()).group_by(Letter.kind)).all())
    return [
        "decisions                   " + ", ".join(f"{label('outcome', k)} {v}" for k, v in sorted(decisions.items())),
        f"public notices posted       {notices:>10}   (objections: "
        + ", ".join(f"{label('objection_status', k)} {v}" for k, v in sorted(objections.items()))
        + ")",
        f"tasks left on a desk        {left_open:>10}   (two weeks on: reminded {sweep.get('reminded', 0)}, "
        f"escalated to a supervisor {sweep.get('escalated', 0)})",
        f"letters to applicants       {sum(letters.values()):>10}   ("
        + ", ".join(f"{label('letter_kind', k)} {v}" for k, v in sorted(letters.items()))
        + ")",
    ]


def disclosure_lines(*, session: Session, storage_root: Path | None) -> list[str]:
    """The latest disclosure, its files in the store and its address in the API (nothing if none yet)."""
    disclosure = session.exec(
        select(Publication).where(Publication.kind == PublicationKind.DISCLOSURE).order_by(Publication.id.desc())  # type: ignore[union-attr]
    ).first()
    if not disclosure:
        return []
    files = session.exec(select(PublishedFile).where(PublishedFile.publication_id == disclosure.id)).all()
    return [
        f"disclosure {disclosure.period} v{disclosure.version} (manifest sha256 {disclosure.manifest_sha256[:16]}…)",
        *(f"  {storage_root}/{f.object_key}" for f in files),
        f"  via the API: /api/public/publications/{disclosure.id}",
    ]


def _demo_year(*, session: Session, year: int) -> PolicyYear:
    """The demo programme's policy year."""
    return session.exec(
        select(PolicyYear)
        .join(Programme, Programme.id == PolicyYear.programme_id)  # type: ignore[arg-type]
        .where(Programme.code == PROGRAMME, PolicyYear.year == year)
    ).one()


def _claims_and_payments(*, session: Session, policy_year: PolicyYear) -> tuple[dict[str, int], int]:
    """The year's claims by status, and the money paid out (payments that went through)."""
    by_status = dict(
        session.exec(
            select(Claim.status, func.count()).where(Claim.policy_year_id == policy_year.id).group_by(Claim.status)
        ).all()
    )
    paid_fen = session.exec(
        select(func.coalesce(func.sum(Payment.amount_fen), 0)).where(Payment.status == PaymentStatus.PAID)
    ).one()
    return by_status, int(paid_fen)


def demo_summary(*, session: Session, year: int, results: dict[str, Any], seconds: float) -> str:
    """A plain-text summary of the cycle just run."""
    policy_year = _demo_year(session=session, year=year)
    figures = fund_figures(session=session, policy_year=policy_year)
    by_status, paid_fen = _claims_and_payments(session=session, policy_year=policy_year)
    settings = get_settings()
    published = disclosure_lines(session=session, storage_root=settings.storage_root)
    contributions = next(s["amount_fen"] for s in figures["contributions_by_source"] if s["source"] == "contribution")
    registration = results.get("registration", {})
    return "\n".join(
        [
            "",
            f"工会职工医疗互助保障 — {year} 年度演示 / programme year {year} demo",
            "=" * 64,
            f"members enrolled (active)   {figures['members_enrolled']:>10}   "
            f"(roster rows {registration.get('total_rows')}, rejected rows {registration.get('rejected_rows')})",
            f"contributions               {format_yuan(contributions):>10} CNY",
            f"all receipts                {format_yuan(figures['contributions_total_fen']):>10} CNY",
            f"claims                      {sum(by_status.values()):>10}",
            *(f"  {label('claim_status', s)} / {s:<16}{n:>6}" for s, n in sorted(by_status.items())),
            *approval_lines(session=session, results=results),
            f"amount paid                 {format_yuan(paid_fen):>10} CNY",
            f"claim ratio (payouts ÷ contributions)  {figures['claim_ratio'] * 100:.2f}%",
            f"fund balance                {format_yuan(figures['balance_fen']):>10} CNY",
            *what_if_lines(session=session, policy_year=policy_year),
            *published,
            f"database: {settings.database_url}",
            f"finished in {seconds:.1f} s",
            "",
        ]
    )
