"""Reading a roster file (CSV or Excel .xlsx) as a stream of records, and mapping its header to the roster fields.

Pure, no database. The first SNIFF_BYTES decide the file type, the encoding (UTF-8, UTF-8 with BOM or GBK)
and the delimiter; the stream is then read front to back, so a file of any length is read in bounded
memory, also from a source that cannot seek. Problems with the file itself raise `RosterFileError`.
"""

from __future__ import annotations

import codecs
import csv
import io
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING, BinaryIO
from xml.etree.ElementTree import ParseError

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from models.errors import ValidationFailed
from tasks.registration.roster_rows import COLUMNS, REQUIRED, SpreadsheetNumber, fold

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

ZIP_SIGNATURE = b"PK\x03\x04"  # xlsx (and docx, plain zip: openpyxl tells them apart)
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0"  # legacy .xls / .doc
BINARY_SIGNATURES = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # Excel's "Unicode text"
SNIFF_BYTES = 64 * 1024  # the prefix that decides the file type, encoding and delimiter

EMPTY_FILE = "文件为空"
NOT_A_ROSTER = "文件不是CSV或Excel（.xlsx）文件，请另存为 .xlsx 或 CSV（逗号分隔）后上传"
LEGACY_XLS = "不支持旧版 .xls，请另存为 .xlsx 或 CSV"
BROKEN_XLSX = "文件不是有效的Excel（.xlsx）文件，请用Excel重新另存为 .xlsx 或 CSV 后上传"
UNKNOWN_ENCODING = "文件编码无法识别，请使用UTF-8或GBK编码的CSV文件"


class RosterFileError(ValidationFailed):
    """The file as a whole cannot be read as a roster (the message, zh-CN, says why)."""

    code = "roster_file_invalid"


class _Rejoined(io.RawIOBase):
    """The prefix already read to sniff the file, then the rest of the source: a fresh start for any stream."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        out = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(out), len(self._head))
            out[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(out))
        out[: len(data)] = data
        return len(data)


def map_header(header: Sequence[str]) -> dict[str, int]:
    """field → column index, preferring the earlier alias when several columns match one field."""
    keys = [fold(h) for h in header]
    found: dict[str, int] = {}
    for field, (_label, aliases) in COLUMNS.items():
        for alias in aliases:
            if fold(alias) in keys:
                found[field] = keys.index(fold(alias))
                break
    missing = [COLUMNS[f][0] for f in REQUIRED if f not in found]
    if missing:
        raise RosterFileError(f"缺少必填列：{'、'.join(missing)}")
    return found


def _read_head(source: BinaryIO) -> bytes:
    """Up to SNIFF_BYTES from the start of source (fewer only at the end of the file)."""
    parts: list[bytes] = []
    size = 0
    while size < SNIFF_BYTES:
        part = source.read(SNIFF_BYTES - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _encoding(head: bytes, complete: bool) -> str:
    """UTF-8 (a BOM is dropped) if the prefix is UTF-8, else GB18030 (a superset of GBK) if it decodes so."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=complete)
        except UnicodeDecodeError:
            continue
        return encoding
    raise RosterFileError(UNKNOWN_ENCODING)


def _csv_records(source: BinaryIO, head: bytes) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row, cells) of every CSV record, blank ones included; decoded as the prefix says.

    Bytes after the prefix that the encoding cannot decode become U+FFFD, so they fail their row, not the file.
    """
    if head.startswith(UTF16_BOMS):
        raise RosterFileError(UNKNOWN_ENCODING)
    if head.startswith(BINARY_SIGNATURES) or b"\x00" in head:
        raise RosterFileError(NOT_A_ROSTER)
    encoding = _encoding(head, complete=len(head) < SNIFF_BYTES)
    first_line = next((line for line in head.decode(encoding, "replace").splitlines() if line.strip()), "")
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    raw = io.BufferedReader(_Rejoined(head, source), buffer_size=SNIFF_BYTES)
    text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
    records = csv.reader(text, delimiter=delimiter)
    number = 0
    try:
        for number, record in enumerate(records, start=1):
            yield number, record
    except csv.Error:
        raise RosterFileError(
            "文件不是有效的CSV格式" if number == 0 else f"第{number + 1}行不是有效的CSV格式"
        ) from None


def _cell_text(value: object) -> str:
    """A spreadsheet value as the text a CSV would hold; numbers keep their digits (and are marked as numbers)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return SpreadsheetNumber(value)
    if isinstance(value, float):
        return SpreadsheetNumber(int(value) if value.is_integer() else value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _seekable(source: BinaryIO, head: bytes, start: int | None) -> BinaryIO:
    """source rewound to start, or (if it cannot seek) a temporary file holding all of it."""
    if start is not None:
        source.seek(start)
        return source
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _xlsx_records
    spool.write(head)
    shutil.copyfileobj(source, spool, SNIFF_BYTES)
    spool.seek(0)
    return spool


def _xlsx_records(source: BinaryIO, head: bytes, start: int | None) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row, cells as text) of every row of the workbook's first sheet, streamed (read-only mode)."""
    file = _seekable(source, head, start)
    number = 0
    try:
        try:
            workbook = load_workbook(file, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, ParseError, EOFError):
            raise RosterFileError(BROKEN_XLSX) from None
        try:
            if not workbook.worksheets:
                raise RosterFileError(BROKEN_XLSX)
            sheet = workbook.worksheets[0]
            sheet.reset_dimensions()  # the stored dimension may be wrong: read every row there is
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, [_cell_text(v) for v in values]
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, ParseError, EOFError):
            raise RosterFileError(f"第{number + 1}行无法读取，{BROKEN_XLSX}") from None
        finally:
            workbook.close()
    finally:
        if file is not source:
            file.close()


def roster_records(source: BinaryIO) -> Iterator[tuple[int, list[str]]]:
    """The file's records, whatever its format; RosterFileError for formats we do not read."""
    start = source.tell() if source.seekable() else None
    head = _read_head(source)
    if head.startswith(OLE_SIGNATURE):
        raise RosterFileError(LEGACY_XLS)
    if head.startswith(ZIP_SIGNATURE):
        return _xlsx_records(source, head, start)
    return _csv_records(source, head)


def is_blank(record: Sequence[str]) -> bool:
    """Whether a record has no cell with anything but whitespace in it."""
    return not any(cell.strip() for cell in record)
