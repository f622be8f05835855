"""Step 2, registration (组织报名): stream a roster file from the object store into chunk task runs.

The file is read chunk by chunk (`store.open` → `tasks.registration.roster.iter_roster`) and each chunk's valid rows go
to a task run as soon as they are read, with at most MAX_PENDING task runs pending; a million-row roster
is a couple of hundred task runs and never sits in memory whole. Each task run commits its own chunk, and
re-running the flow creates nothing twice, so a run that fails half-way is finished by running it again.

Personal data stays out of Prefect: the flow's parameters name the file, never its rows; the artifacts
hold counts and the first ERRORS_SHOWN row errors as row, column and reason (no cell values); the
complete error report (ID numbers masked, no live formulas) goes to the object store beside the roster.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact
from prefect.futures import PrefectFuture, wait
from prefect.utilities.annotations import quote

from core.db import session_scope
from core.storage import ObjectStore, get_store
from flows.common import chunk_size, chunk_task, policy_year_of, report
from models.enrolments import EnrolmentKind
from tasks.registration.enrolment import ChunkResult, import_roster_rows
from tasks.registration.error_report import error_report_csv
from tasks.registration.roster import iter_roster
from tasks.registration.roster_rows import RosterRow, RowError

MAX_PENDING = 4  # chunk task runs submitted and not yet finished
ERRORS_SHOWN = 200  # row errors kept in the artifact; the report in the store has them all


@chunk_task
def import_chunk(programme_code: str, year: int, rows: list[RosterRow], scope_path: str | None) -> ChunkResult:
    """Import one chunk of validated roster rows in its own transaction; counts and row errors."""
    policy_year = policy_year_of(programme_code, year)
    with session_scope() as session:
        return import_roster_rows(
            session=session, policy_year=policy_year, rows=rows, importer_scope_path=scope_path,
            kind=EnrolmentKind.NEW,
        )  # fmt: skip


def _error_table(errors: list[RowError]) -> list[dict[str, Any]]:
    """The first row errors as artifact rows: where and why, never what the cell held."""
    return [{"行号": e.row, "列": e.column, "原因": e.reason} for e in errors[:ERRORS_SHOWN]]


def _enrol_chunks(
    store: ObjectStore, roster_key: str, programme_code: str, year: int, scope_path: str | None, errors: list[RowError]
) -> tuple[int, int]:
    """Read the roster chunk by chunk, each chunk's valid rows a task run (at most MAX_PENDING pending).

    Every row error, of reading and of importing, goes into `errors`; returns (data rows read, enrolled).
    """
    size = chunk_size()
    pending: deque[PrefectFuture[ChunkResult]] = deque()
    imported = total = 0

    def settle(future: PrefectFuture[ChunkResult]) -> None:
        nonlocal imported
        result = future.result()
        imported += result.imported
        errors.extend(result.errors)

    try:
        with store.open(roster_key) as source:
            for chunk in iter_roster(source, chunk_size=size):
                errors.extend(chunk.errors)
                total = chunk.rows_read
                if chunk.rows:  # quote(): Prefect hands the rows over as they are, without walking each one
                    rows = quote(chunk.rows)
                    pending.append(import_chunk.submit(programme_code, year, rows, scope_path))  # type: ignore[call-overload]
                while len(pending) > MAX_PENDING:
                    settle(pending.popleft())
        while pending:
            settle(pending.popleft())
    finally:
        wait(list(pending))  # a file error half-way: let the chunks already submitted finish first
    return total, imported


def _store_error_report(store: ObjectStore, roster_key: str, year: int, errors: list[RowError]) -> str:
    """Put the complete error report beside the roster and keep the first errors as an artifact; the report's key."""
    report_key = f"{roster_key}.errors.csv"
    store.put(report_key, error_report_csv(errors), media_type="text/csv; charset=utf-8", immutable=False)
    shown = min(len(errors), ERRORS_SHOWN)
    description = f"{year} 组织报名：前{shown}条错误（共{len(errors)}条，完整报告见 {report_key}）"
    create_table_artifact(_error_table(errors), key="registration-errors", description=description)
    return report_key


@flow(name="registration")
def registration_flow(programme_code: str, year: int, roster_key: str, scope_path: str | None = None) -> dict[str, Any]:
    """Validate a roster (CSV or .xlsx) stored under roster_key and enrol its good rows; bad rows get a report."""
    store = get_store()
    errors: list[RowError] = []
    total, imported = _enrol_chunks(store, roster_key, programme_code, year, scope_path, errors)
    errors.sort(key=lambda e: e.row)
    report_key = _store_error_report(store, roster_key, year, errors) if errors else ""
    return report(
        "registration",
        f"{year} 组织报名",
        {
            "total_rows": total,
            "imported": imported,
            "rejected_rows": len({e.row for e in errors}),
            "row_errors": len(errors),
            "error_report": report_key,
        },
    )
