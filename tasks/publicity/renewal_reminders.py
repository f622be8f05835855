"""Renewal reminders (续保提示单, DOMAIN 2.1): before the year ends, each unit's list of its active members
(masked) with what next year's contributions come to. Sent to the units only, never public."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from core.storage.base import ObjectStore
from models.enrolments import Enrolment, EnrolmentStatus
from models.members import Member
from models.org import OrgUnit
from models.programmes import PolicyYear
from models.publications import Publication, PublicationKind
from models.rules import PolicyRules
from models.states import Actor
from tasks.common.masking import mask_id_number, mask_name
from tasks.common.publishing import publish
from tasks.common.render import render
from tasks.publicity.announcements import MARKDOWN


def publish_renewal_reminders(
    *, session: Session, store: ObjectStore, policy_year: PolicyYear, actor: Actor
) -> Publication | None:
    """One renewal reminder (续保提示单) per unit listing its active members (masked), for the units only."""
    by_unit = _active_members_by_unit(session=session, policy_year=policy_year)
    if not by_unit:
        return None
    rules = policy_year.policy()
    files = {
        f"renewal_{code}.md": (_reminder(entry, policy_year=policy_year, rules=rules).encode("utf-8"), MARKDOWN)
        for code, entry in by_unit.items()
    }
    return publish(
        session=session,
        store=store,
        kind=PublicationKind.RENEWAL_REMINDER,
        policy_year=policy_year,
        period=str(policy_year.year),
        title=f"{policy_year.year + 1}年度续保提示单",
        files=files,
        actor=actor,
        is_public=False,
    )


def _active_members_by_unit(*, session: Session, policy_year: PolicyYear) -> dict[str, dict[str, Any]]:
    """Unit code → the unit's name and its active members (masked), units and members in code and id order."""
    rows = session.execute(
        sa_select(OrgUnit.id, OrgUnit.code, OrgUnit.name, Member.name, Member.id_number)  # type: ignore[call-overload]
        .join(Enrolment, Enrolment.org_unit_id == OrgUnit.id)
        .join(Member, Member.id == Enrolment.member_id)
        .where(Enrolment.policy_year_id == policy_year.id, Enrolment.status == EnrolmentStatus.ACTIVE)
        .order_by(col(OrgUnit.code), col(Member.id))
    ).all()
    by_unit: dict[str, dict[str, Any]] = {}
    for _unit_id, code, unit_name, name, id_number in rows:
        entry = by_unit.setdefault(code, {"unit_name": unit_name, "members": []})
        entry["members"].append({"name_masked": mask_name(name), "id_masked": mask_id_number(id_number)})
    return by_unit


def _reminder(entry: dict[str, Any], *, policy_year: PolicyYear, rules: PolicyRules) -> str:
    """One unit's reminder: next year's contributions for its members, due by the year's end."""
    month, day = rules.renewal_reminder_month_day
    return render(
        "renewal_reminder.md.j2",
        {
            "unit_name": entry["unit_name"],
            "year": policy_year.year + 1,
            "due_date": date(policy_year.year, 12, 31),
            "reminder_date": date(policy_year.year, month, day),
            "contribution_fen": rules.contribution_fen,
            "members": entry["members"],
            "count": len(entry["members"]),
            "total_fen": len(entry["members"]) * rules.contribution_fen,
        },
    )
