"""Step 3, eligibility review (审核确认): automatic checks in chunks; the undecidable go to a human queue.

Two table artifacts per run: the counts per outcome (key `eligibility`) and the enrolments per reason
(key `eligibility-reasons`), each reason as stored on the enrolment, so the rows add up to the decided
enrolments that are not eligible.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact

from core.db import session_scope
from flows.common import chunk_size, chunk_task, id_chunks, policy_year_of, report
from models.states import Actor
from tasks.eligibility.checks import check_enrolments, pending_enrolment_ids
from tasks.eligibility.year_rules import NOT_GRASSROOTS

FLOW_ACTOR = Actor(None, "flow:eligibility")
OUTCOMES = ("eligible", "ineligible", "needs_review")
OUTCOME_ZH = {"ineligible": "不符合条件", "needs_review": "待人工审核"}


@chunk_task
def check_chunk(enrolment_ids: list[int], policy_year_id: int) -> dict[str, Any]:
    """Decide one chunk of registered enrolments of a year; its counts per outcome and per reason."""
    with session_scope() as session:
        counts = check_enrolments(
            session=session, enrolment_ids=enrolment_ids, actor=FLOW_ACTOR, policy_year_id=policy_year_id
        )
        return {
            "eligible": counts.eligible,
            "ineligible": counts.ineligible,
            "needs_review": counts.needs_review,
            "by_reason": dict(counts.by_reason),
        }


def report_reasons(year: int, by_reason: Counter[str]) -> list[dict[str, Any]]:
    """Keep the enrolments per reason as a table artifact (most frequent first); the rows."""
    rows = [
        {"结果": OUTCOME_ZH["needs_review" if reason == NOT_GRASSROOTS else "ineligible"], "原因": reason, "人数": n}
        for reason, n in sorted(by_reason.items(), key=lambda item: (-item[1], item[0]))
    ]
    create_table_artifact(
        rows or [{"结果": "", "原因": "无", "人数": 0}],
        key="eligibility-reasons",
        description=f"{year} 资格审核：不符合条件及待人工审核的原因",
    )
    return rows


@flow(name="eligibility")
def eligibility_flow(programme_code: str, year: int) -> dict[str, Any]:
    """Apply the automatic eligibility rules to every registered enrolment of the year."""
    year_id = policy_year_of(programme_code, year).id or 0
    size = chunk_size()

    def next_ids(after: int) -> list[int]:
        with session_scope() as session:
            return pending_enrolment_ids(session=session, policy_year_id=year_id, after_id=after, limit=size)

    totals = dict.fromkeys(OUTCOMES, 0)
    by_reason: Counter[str] = Counter()
    futures = [check_chunk.submit(ids, year_id) for ids in id_chunks(next_ids)]
    for future in futures:
        result = future.result()
        for key in OUTCOMES:
            totals[key] += result[key]
        by_reason.update(result["by_reason"])
    report_reasons(year, by_reason)
    return {**report("eligibility", f"{year} 资格审核", totals), "by_reason": dict(by_reason)}
