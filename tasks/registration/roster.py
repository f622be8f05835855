"""Unit rosters (CSV or Excel .xlsx) read as a stream of checked chunks (DOMAIN 2.2).

Pure, no database. `iter_roster` reads a file of any length chunk by chunk in bounded memory
(tasks.registration.roster_file) and checks every row (tasks.registration.roster_rows): the only state that
grows with the file is one dict entry per ID number (about 100 bytes), kept so that a duplicate is caught
however far apart the two rows are. `parse_roster` collects the chunks of a small file.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import BinaryIO

from tasks.registration.roster_file import EMPTY_FILE, RosterFileError, is_blank, map_header, roster_records
from tasks.registration.roster_rows import FIELDS, RosterRow, RowError, check_row, undecodable_error

Picker = Callable[[list[str]], tuple[str, ...]]  # a record's cells of FIELDS, in order


@dataclass
class RosterChunk:
    """Up to chunk_size data rows of a roster: the valid ones, the errors of the others, and rows read so far.

    `rows_read` counts data rows (blank lines not counted) from the start of the file to the end of this
    chunk, so the last chunk's `rows_read` is the file's total.
    """

    rows: list[RosterRow]
    errors: list[RowError]
    rows_read: int


@dataclass
class ParsedRoster:
    """The valid rows, the row errors, and how many data rows the file had (blank lines not counted)."""

    rows: list[RosterRow]
    errors: list[RowError]
    total_rows: int


def _read_header(records: Iterator[tuple[int, list[str]]]) -> tuple[Picker, int]:
    """Read up to the header (the first record not blank): how to pick the cells of FIELDS, and the header's width."""
    try:
        _, header = next((n, r) for n, r in records if not is_blank(r))
    except StopIteration:
        raise RosterFileError(EMPTY_FILE) from None
    columns = map_header(header)
    pick: Picker = itemgetter(*(columns.get(f, -1) for f in FIELDS))  # -1: the trailing "" iter_roster appends
    return pick, max(columns.values()) + 1


def iter_roster(source: BinaryIO, *, chunk_size: int = 5000) -> Iterator[RosterChunk]:
    """Read a roster (CSV in UTF-8, UTF-8 with BOM or GBK; or .xlsx) as chunks of up to chunk_size data rows.

    At least one chunk is yielded (an empty one for a header-only file); the last one's `rows_read` is the
    total. Duplicate ID numbers are caught across the whole file and point at the first row. Raises
    RosterFileError (on the first chunk, or mid-file for a broken file) when the file is no roster.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    records = roster_records(source)
    pick, width = _read_header(records)
    seen: dict[str, int] = {}
    rows: list[RosterRow] = []
    errors: list[RowError] = []
    read = in_chunk = 0
    for number, record in records:
        line = "".join(record)
        if not line.strip():
            continue
        read += 1
        in_chunk += 1
        record.append("")  # where a column the file lacks is read; a short record is padded to the header's width
        if len(record) <= width:
            record.extend([""] * (width + 1 - len(record)))
        values = pick(record)
        result = ("\ufffd" in line and undecodable_error(number, values)) or check_row(number, values, seen)
        if isinstance(result, RosterRow):
            rows.append(result)
        else:
            errors.extend(result)
        if in_chunk == chunk_size:
            yield RosterChunk(rows=rows, errors=errors, rows_read=read)
            rows, errors, in_chunk = [], [], 0
    if in_chunk or not read:
        yield RosterChunk(rows=rows, errors=errors, rows_read=read)


def parse_roster(data: bytes) -> ParsedRoster:
    """Read a whole roster held in memory (see iter_roster); raise RosterFileError if it is no roster."""
    rows: list[RosterRow] = []
    errors: list[RowError] = []
    total = 0
    for chunk in iter_roster(io.BytesIO(data), chunk_size=max(1, len(data))):
        rows.extend(chunk.rows)
        errors.extend(chunk.errors)
        total = chunk.rows_read
    return ParsedRoster(rows=rows, errors=errors, total_rows=total)
