"""The outbox dispatcher as a Prefect flow: drain the committed decision events into letters (and later steps).

Started right after a decision (core.dispatch.request_dispatch) and every minute by its deployment
(`mutualaid schedule`). It walks the pending messages in chunks, one task run and one transaction per chunk,
never a run per message; a message that fails is passed over and tried again by the next run.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from core.db import get_engine, reading, session_scope
from core.storage import get_store
from flows.common import chunk_task, report
from tasks.letters.outbox import DispatchCounts, count_given_up, count_pending, dispatch_pending

# Messages per task run. Each may render and store a letter, so a chunk is kept short: on SQLite it holds
# the write lock (and so delays reviewers' decisions) for as long as it runs.
DISPATCH_CHUNK = 100


@chunk_task
def dispatch_chunk(after_id: int, limit: int) -> dict[str, int]:
    """Dispatch up to `limit` pending messages after `after_id` in one transaction."""
    with session_scope() as session:
        counts = dispatch_pending(session=session, store=get_store(), limit=limit, after_id=after_id)
    return counts.as_dict()


@flow(name="outbox-dispatch")
def outbox_dispatch_flow(limit: int = DISPATCH_CHUNK, max_chunks: int = 1000) -> dict[str, Any]:
    """Dispatch every pending outbox message once (chunk by chunk) and report the counts."""
    totals = DispatchCounts()
    after = 0
    for _ in range(max_chunks):
        counts = dispatch_chunk(after, limit)
        totals.picked += counts["picked"]
        totals.dispatched += counts["dispatched"]
        totals.written += counts["written"]
        totals.failed += counts["failed"]
        after = counts["last_id"]
        if counts["picked"] < limit:
            break
    with session_scope(reading(get_engine())) as session:
        still_pending, given_up = count_pending(session=session), count_given_up(session=session)
    figures = {
        "picked": totals.picked,
        "dispatched": totals.dispatched,
        "written": totals.written,
        "failed": totals.failed,
        "still_pending": still_pending,
        "given_up": given_up,
    }
    return report("outbox-dispatch", "发件箱分发（决定通知书）", figures)
