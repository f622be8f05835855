"""Spreadsheet exports: a CSV as Excel opens it (UTF-8 with BOM, CRLF line ends), and text cells that stay text.

A cell whose text starts like a formula (=, +, -, @, a tab or a carriage return) is written with a leading
apostrophe, so a spreadsheet shows it instead of evaluating it (CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: str) -> str:
    """A text cell that a spreadsheet will never evaluate as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def excel_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """The header and rows as a CSV for Excel (UTF-8 with BOM, CRLF); cells are written as given."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")
