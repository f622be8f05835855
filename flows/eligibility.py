"""Step 3, eligibility review (审核确认): automatic checks in chunks; the undecidable go to a human queue."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.common import chunk_size, chunk_task, id_chunks, policy_year_of, report
from models.states import Actor
from mutualaid.db import session_scope
from tasks.eligibility import check_enrolments, pending_enrolment_ids

FLOW_ACTOR = Actor(None, "flow:eligibility")


@chunk_task
def check_chunk(enrolment_ids: list[int]) -> dict[str, int]:
    """Decide one chunk of registered enrolments."""
    with session_scope() as session:
        counts = check_enrolments(session=session, enrolment_ids=enrolment_ids, actor=FLOW_ACTOR)
        return {"eligible": counts.eligible, "ineligible": counts.ineligible, "needs_review": counts.needs_review}


@flow(name="eligibility")
def eligibility_flow(programme_code: str, year: int) -> dict[str, Any]:
    """Apply the automatic eligibility rules to every registered enrolment of the year."""
    policy_year = policy_year_of(programme_code, year)
    size = chunk_size()

    def next_ids(after: int) -> list[int]:
        with session_scope() as session:
            return pending_enrolment_ids(
                session=session, policy_year_id=policy_year.id or 0, after_id=after, limit=size
            )

    totals = {"eligible": 0, "ineligible": 0, "needs_review": 0}
    futures = [check_chunk.submit(ids) for ids in id_chunks(next_ids)]
    for future in futures:
        for key, value in future.result().items():
            totals[key] += value
    return report("eligibility", f"{year} 资格审核", totals)
