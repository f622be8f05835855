"""Publicity (DOMAIN 2.1): the year's announcement, materials checklist and warm reminder, in every language.

The renewal reminders sent to the units before the year ends are in tasks.publicity.renewal_reminders.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from core.storage.base import ObjectStore
from models.claims_enums import BenefitType
from models.org import OrgUnit
from models.programmes import PolicyYear, Programme
from models.publications import Publication, PublicationKind
from models.rules import LumpSumRule, ReimbursementRule, RequestedAmountRule
from models.states import Actor
from tasks.common.labels import label
from tasks.common.publishing import publish
from tasks.common.render import render

LANGUAGES = ("zh-CN", "en")
MARKDOWN = "text/markdown; charset=utf-8"


def publicity_context(*, session: Session, policy_year: PolicyYear, language: str) -> dict[str, Any]:
    """What the announcement, checklist and reminder templates need, from the year's rules."""
    programme = session.get(Programme, policy_year.programme_id)
    assert programme is not None
    owner = session.get(OrgUnit, programme.owner_org_id)
    rules = policy_year.policy()
    hospital = rules.benefits.get(BenefitType.HOSPITALISATION)
    critical = rules.benefits.get(BenefitType.CRITICAL_ILLNESS)
    hardship = rules.benefits.get(BenefitType.SPECIAL_HARDSHIP)
    return {
        "programme_name": programme.name,
        "year": policy_year.year,
        "org_name": owner.name if owner else "",
        "contribution_fen": rules.contribution_fen,
        "ratio": hospital.ratio if isinstance(hospital, ReimbursementRule) else Decimal(0),
        "minimum_fen": hospital.minimum_fen if isinstance(hospital, ReimbursementRule) else 0,
        "annual_cap_fen": rules.annual_cap_fen or 0,
        "critical_illness_fen": critical.amount_fen if isinstance(critical, LumpSumRule) else 0,
        "hardship_max_fen": hardship.max_fen if isinstance(hardship, RequestedAmountRule) else 0,
        "waiting_days": rules.waiting_days,
        "filing_deadline_days": rules.filing_deadline_days,
        "age_min": rules.age_min,
        "age_max": rules.age_max,
        "hotline": rules.hotline,
        "report_email": rules.report_email,
        "notice_days": rules.notice_days,
        "published_on": date.today(),
        "agent_note": True,
        "required_documents": [
            {
                "benefit_name": (rule.label_en or rule.label_zh) if language == "en" else rule.label_zh,
                "documents": [label("document_type", str(doc), language) for doc in rule.required_documents],
            }
            for rule in rules.benefits.values()
        ],
    }


def publish_publicity(*, session: Session, store: ObjectStore, policy_year: PolicyYear, actor: Actor) -> Publication:
    """Render the three publicity documents in every language and publish them as one version."""
    files: dict[str, tuple[bytes, str]] = {}
    for language in LANGUAGES:
        context = publicity_context(session=session, policy_year=policy_year, language=language)
        suffix = "" if language == "zh-CN" else f".{language}"
        for name in ("announcement", "checklist", "reminder"):
            text = render(f"{name}.md.j2", context, language=language)
            files[f"{name}{suffix}.md"] = (text.encode("utf-8"), MARKDOWN)
    programme = session.get(Programme, policy_year.programme_id)
    return publish(
        session=session,
        store=store,
        kind=PublicationKind.PUBLICITY,
        policy_year=policy_year,
        period=str(policy_year.year),
        title=f"{policy_year.year}年度{programme.name if programme else ''}公告",
        files=files,
        actor=actor,
    )
