"""Administrators' roster and renewal commands (under `mutualaid admin`): import a roster, renew a unit.

Imports of the application happen inside the commands, so `mutualaid --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer

from mutualaid.cli_common import domain_errors, progress_bar

if TYPE_CHECKING:
    from sqlmodel import Session

    from models.programmes import PolicyYear
    from tasks.registration.roster_import import ImportReport

XLSX_MAGIC = b"PK\x03\x04"


def _import_with_progress(
    session: Session, path: Path, stream: BinaryIO, *, policy_year: PolicyYear, scope: str | None, chunk_size: int
) -> ImportReport:
    """import_roster of the open file, committing each chunk, with a progress bar on stderr."""
    from tasks.registration.roster_import import import_roster

    size = path.stat().st_size
    is_xlsx = stream.read(len(XLSX_MAGIC)) == XLSX_MAGIC
    stream.seek(0)
    label = f"导入 {path.name}"
    # A CSV is read front to back, so the bytes read so far measure progress; a workbook is a zip read in
    # any order, so it counts rows against an unknown total.
    with progress_bar(in_bytes=not is_xlsx) as progress:
        bar = progress.add_task(label, total=None if is_xlsx else size)

        def advance(rows: int) -> None:
            done = rows if is_xlsx else min(stream.tell(), size)
            progress.update(bar, completed=done, description=f"{label}：{rows} 行")

        report = import_roster(
            session=session, policy_year=policy_year, data=stream, importer_scope_path=scope, chunk_size=chunk_size,
            on_progress=advance, after_chunk=session.commit,
        )  # fmt: skip
        finished = report.total_rows if is_xlsx else size
        progress.update(bar, completed=finished, total=finished)
    return report


def import_roster_command(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="名册 CSV 或 .xlsx")],
    programme: str,
    year: int,
    unit: Annotated[str | None, typer.Option(help="import only rows of this unit (or its subtree)")] = None,
    chunk_size: Annotated[int, typer.Option(min=100, max=100_000, help="rows per committed chunk")] = 5000,
) -> None:
    """Import a roster (CSV or .xlsx) for a programme year, committing each chunk; errors go beside the file."""
    from core.db import session_scope
    from tasks.common.orgs import get_by_code
    from tasks.common.programmes import get_policy_year
    from tasks.registration.error_report import error_report_csv

    with domain_errors(), session_scope() as session, path.open("rb") as stream:
        policy_year = get_policy_year(session=session, programme_code=programme, year=year)
        scope = get_by_code(session=session, code=unit).path if unit else None
        report = _import_with_progress(
            session, path, stream, policy_year=policy_year, scope=scope, chunk_size=chunk_size
        )
    typer.echo(
        f"rows: {report.total_rows}, imported: {report.imported}, rejected: {len({e.row for e in report.errors})}"
    )
    if report.errors:
        out = path.with_suffix(".errors.csv")
        out.write_bytes(error_report_csv(report.errors))
        typer.echo(f"error report: {out}")


def renew_command(unit: str, programme: str, from_year: int, to_year: int) -> None:
    """Carry a unit's active members of FROM_YEAR over to TO_YEAR (as registered renewals), once."""
    from rich.console import Console

    from core.db import session_scope
    from tasks.common.orgs import get_by_code
    from tasks.common.programmes import get_policy_year
    from tasks.registration.renewal import renew_unit

    with domain_errors(), session_scope() as session, Console(stderr=True).status(f"续保 {unit} …"):
        org = get_by_code(session=session, code=unit)
        source = get_policy_year(session=session, programme_code=programme, year=from_year)
        target = get_policy_year(session=session, programme_code=programme, year=to_year)
        carried = renew_unit(session=session, from_year=source, to_year=target, unit=org)
    typer.echo(f"carried over: {carried} ({unit} {programme} {from_year} → {to_year})")


def due_for_renewal_command(unit: str, programme: str, year: int) -> None:
    """List a unit's members due for renewal after YEAR (ID numbers masked)."""
    from rich.console import Console
    from rich.table import Table

    from core.db import get_engine, reading, session_scope
    from tasks.common.labels import label
    from tasks.common.masking import mask_id_number
    from tasks.common.orgs import get_by_code
    from tasks.common.programmes import get_policy_year
    from tasks.registration.renewal import due_for_renewal

    with domain_errors(), session_scope(reading(get_engine())) as session:
        org = get_by_code(session=session, code=unit)
        assert org.id is not None
        policy_year = get_policy_year(session=session, programme_code=programme, year=year)
        due = due_for_renewal(session=session, policy_year=policy_year, unit_id=org.id)
    table = Table(title=f"{org.name}（{unit}）{programme} {year} 待续保人员：{len(due)} 人")
    for column in ("姓名", "身份证号", "在职状态"):
        table.add_column(column)
    for member in due:
        table.add_row(
            member.name, mask_id_number(member.id_number), label("employment_status", member.employment_status)
        )
    Console().print(table)
