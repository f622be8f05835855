"""The error report of a roster import: its row errors as a spreadsheet the unit can fix its roster from."""

from __future__ import annotations

from collections.abc import Sequence

from tasks.common.spreadsheet import excel_csv, text_cell
from tasks.registration.roster_rows import RowError, masked

REPORT_HEADER = ("行号", "列", "内容", "原因")


def error_report_csv(errors: Sequence[RowError]) -> bytes:
    """The row errors as a CSV for Excel (UTF-8 with BOM): 行号, 列, 内容, 原因; IDs masked, no live formulas."""
    rows = (
        [str(error.row), *(text_cell(cell) for cell in (error.column, masked(error.column, error.value), error.reason))]
        for error in sorted(errors, key=lambda e: e.row)
    )
    return excel_csv(REPORT_HEADER, rows)
