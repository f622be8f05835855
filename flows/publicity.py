"""Step 1, publicity (宣传发动): publish the year's announcement, checklist and reminder; renewal reminders."""

from __future__ import annotations

from typing import Any

from prefect import flow

from core.db import session_scope
from core.storage import get_store
from flows.common import chunk_task, policy_year_of, report
from models.states import Actor
from tasks.publicity.announcements import publish_publicity
from tasks.publicity.renewal_reminders import publish_renewal_reminders

FLOW_ACTOR = Actor(None, "flow:publicity")


@chunk_task
def publish_year_documents(programme_code: str, year: int) -> dict[str, Any]:
    """Render and publish the publicity documents of a year."""
    policy_year = policy_year_of(programme_code, year)
    with session_scope() as session:
        publication = publish_publicity(session=session, store=get_store(), policy_year=policy_year, actor=FLOW_ACTOR)
        return {"publication_id": publication.id, "version": publication.version, "manifest": publication.manifest_key}


@chunk_task
def publish_renewals(programme_code: str, year: int) -> int:
    """Publish the renewal reminders of every unit (not public: sent to the units)."""
    policy_year = policy_year_of(programme_code, year)
    with session_scope() as session:
        publication = publish_renewal_reminders(
            session=session, store=get_store(), policy_year=policy_year, actor=FLOW_ACTOR
        )
        return publication.id or 0 if publication else 0


@flow(name="publicity")
def publicity_flow(programme_code: str, year: int) -> dict[str, Any]:
    """Publish the announcement, materials checklist and warm reminder of a programme year."""
    published = publish_year_documents(programme_code, year)
    return report("publicity", f"{year} 宣传发动", published)


@flow(name="renewal-reminders")
def renewal_reminders_flow(programme_code: str, year: int) -> dict[str, Any]:
    """Before the year ends, send each unit its renewal reminder (scheduled: Nov 1 by default)."""
    publication_id = publish_renewals(programme_code, year)
    return report("renewal-reminders", f"{year} 续保提示", {"publication_id": publication_id})
