"""What every flow shares: chunking, the programme year lookup, artifacts, and the task defaults.

Bulk work moves in chunks (thousands of rows per task run), never a task run per member or claim.
Tasks open their own unit of work (`session_scope`) so a chunk commits or rolls back whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NONE

from core.db import session_scope
from core.settings import get_settings
from models.programmes import PolicyYear
from tasks.common.programmes import get_policy_year

# Task runs hold database rows, not results worth caching: no cache, no persisted results.
chunk_task = task(cache_policy=NONE, persist_result=False)


def policy_year_of(programme_code: str, year: int) -> PolicyYear:
    """The policy year, read in its own short session."""
    with session_scope() as session:
        return get_policy_year(session=session, programme_code=programme_code, year=year)


def id_chunks(next_ids: Callable[[int], list[int]]) -> Iterator[list[int]]:
    """Walk ids in chunks: next_ids(after_id) returns the next chunk, empty when done."""
    after = 0
    while ids := next_ids(after):
        yield ids
        after = ids[-1]


def chunk_size() -> int:
    """Rows per task run."""
    return get_settings().chunk_size


def report(key: str, title: str, figures: dict[str, Any]) -> dict[str, Any]:
    """Log a flow's figures and keep them as a Prefect table artifact."""
    get_run_logger().info("%s: %s", title, figures)
    create_table_artifact([{"指标": k, "数值": v} for k, v in figures.items()], key=key, description=title)
    return figures
