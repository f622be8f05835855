"""Step 8, public disclosure (信息公开): publish a period's de-identified beneficiaries and fund figures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prefect import flow

from core.db import session_scope
from core.storage import get_store
from flows.common import chunk_task, policy_year_of, report
from models.base import utcnow
from models.states import Actor
from tasks.disclosure.figures import SHANGHAI
from tasks.disclosure.publication import publish_disclosure

FLOW_ACTOR = Actor(None, "flow:disclosure")


@chunk_task
def publish_task(programme_code: str, year: int, period: str) -> dict[str, Any]:
    """Render and publish the disclosure files of a period."""
    policy_year = policy_year_of(programme_code, year)
    with session_scope() as session:
        publication = publish_disclosure(
            session=session, store=get_store(), policy_year=policy_year, period=period, actor=FLOW_ACTOR
        )
        return {
            "publication_id": publication.id,
            "version": publication.version,
            "manifest_key": publication.manifest_key,
            "manifest_sha256": publication.manifest_sha256,
        }


@flow(name="disclosure")
def disclosure_flow(programme_code: str, year: int, period: str) -> dict[str, Any]:
    """Publish the disclosure of a period ('2026' for the year, '2026-11' for a month)."""
    return report("disclosure", f"{period} 信息公开", publish_task(programme_code, year, period))


@flow(name="monthly-disclosure")
def monthly_disclosure_flow(programme_code: str, year: int) -> dict[str, Any]:
    """The scheduled disclosure: last month's, on the first of the month (Shanghai time)."""
    today = utcnow().astimezone(SHANGHAI).date()
    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    return disclosure_flow(programme_code, year, last_month)
