"""Step 2, registration (组织报名): import a roster file from the object store, in chunks."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.common import chunk_size, chunk_task, policy_year_of, report
from models.enrolments import EnrolmentKind
from mutualaid.db import session_scope
from mutualaid.storage import get_store
from tasks.registration import import_roster_rows
from tasks.roster import RosterRow, RowError, error_report_csv, parse_roster


@chunk_task
def import_chunk(programme_code: str, year: int, rows: list[RosterRow], scope_path: str | None) -> dict[str, Any]:
    """Import one chunk of validated roster rows; returns counts and row errors."""
    policy_year = policy_year_of(programme_code, year)
    with session_scope() as session:
        result = import_roster_rows(
            session=session, policy_year=policy_year, rows=rows, importer_scope_path=scope_path,
            kind=EnrolmentKind.NEW,
        )  # fmt: skip
        return {"imported": result.imported, "errors": result.errors}


@flow(name="registration")
def registration_flow(programme_code: str, year: int, roster_key: str, scope_path: str | None = None) -> dict[str, Any]:
    """Validate a roster (CSV) stored under roster_key and enrol its good rows; bad rows get a report."""
    store = get_store()
    parsed = parse_roster(store.get(roster_key))
    size = chunk_size()
    futures = [
        import_chunk.submit(programme_code, year, parsed.rows[i : i + size], scope_path)
        for i in range(0, len(parsed.rows), size)
    ]
    results = [f.result() for f in futures]
    errors: list[RowError] = [*parsed.errors, *(e for r in results for e in r["errors"])]
    report_key = None
    if errors:
        report_key = f"{roster_key}.errors.csv"
        store.put(report_key, error_report_csv(errors), media_type="text/csv; charset=utf-8", immutable=False)
    return report(
        "registration",
        f"{year} 组织报名",
        {
            "total_rows": parsed.total_rows,
            "imported": sum(r["imported"] for r in results),
            "rejected_rows": len({e.row for e in errors}),
            "error_report": report_key or "",
        },
    )
