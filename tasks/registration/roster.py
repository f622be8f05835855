"""Unit rosters (CSV or Excel .xlsx): read as a stream, map the header, normalise and validate each row (DOMAIN 2.2).

Pure, no database. `iter_roster` reads a file of any length chunk by chunk in bounded memory: the only
state that grows with the file is one dict entry per ID number (about 100 bytes), kept so that a
duplicate is caught however far apart the two rows are. `parse_roster` collects the chunks of a small file.

A bad row never blocks a good one: each problem becomes a `RowError` (row numbers as a spreadsheet shows
them, the header being row 1). Problems with the file itself raise `RosterFileError`. ID numbers and bank
card numbers are masked in every `RowError`, so errors can be logged, stored and shown without leaking them.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import shutil
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from operator import itemgetter
from typing import TYPE_CHECKING, BinaryIO
from xml.etree.ElementTree import ParseError

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from models.errors import ValidationFailed
from models.members import EmploymentStatus
from tasks.common.idcard import InvalidIdNumber, parse_id_number
from tasks.common.masking import mask_id_number

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

# field → (zh-CN column label used in errors, accepted header names in order of preference)
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "name": ("姓名", ("姓名", "name")),
    "id_number": ("身份证号", ("身份证号", "身份证号码", "id_number", "idnumber")),
    "phone": ("手机号", ("手机号", "手机", "联系电话", "phone")),
    "employment_status": ("在职状态", ("在职状态", "人员状态", "employment_status", "employmentstatus")),
    "unit": ("单位", ("单位编码", "unit", "unit_code", "单位")),
    "bank_card": ("银行卡号", ("银行卡号", "bank_card", "bankcard")),
    "bank_name": ("开户银行", ("开户银行", "开户行", "bank_name", "bankname")),
}
FIELDS = tuple(COLUMNS)  # the order _check_row takes a row's cells in
REQUIRED = ("name", "id_number", "employment_status", "unit")
EMPLOYMENT_VALUES = {  # keys as _fold leaves them: no spaces or underscores, lower case
    "在职": EmploymentStatus.IN_SERVICE,
    "在岗": EmploymentStatus.IN_SERVICE,
    "inservice": EmploymentStatus.IN_SERVICE,
    "退休": EmploymentStatus.RETIRED,
    "retired": EmploymentStatus.RETIRED,
}
ZIP_SIGNATURE = b"PK\x03\x04"  # xlsx (and docx, plain zip: openpyxl tells them apart)
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0"  # legacy .xls / .doc
BINARY_SIGNATURES = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # Excel's "Unicode text"
SNIFF_BYTES = 64 * 1024  # the prefix that decides the file type, encoding and delimiter
PHONE_RE = re.compile(r"1[3-9]\d{9}")
BANK_CARD_RE = re.compile(r"\d{12,19}")
CJK_RE = re.compile(r"[\u3400-\u9fff]")
NAME_RE = re.compile(r"[^\W\d_]([^\W\d_]|[·・•.' -])*")  # letters, with the dots, apostrophes and hyphens of names
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
FOLD_RE = re.compile(r"[\s_\-*＊]")
DIGIT_NOISE_RE = re.compile(r"[\s\-]")
NAME_MAX, BANK_NAME_MAX = 64, 64
EXACT_DIGITS = 15  # Excel keeps 15 significant digits of a number; longer digit strings lose their tail
MASKED_COLUMNS = frozenset({COLUMNS["id_number"][0], COLUMNS["bank_card"][0], "id_number", "bank_card"})
REPORT_HEADER = ("行号", "列", "内容", "原因")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

EMPTY_FILE = "文件为空"
NOT_A_ROSTER = "文件不是CSV或Excel（.xlsx）文件，请另存为 .xlsx 或 CSV（逗号分隔）后上传"
LEGACY_XLS = "不支持旧版 .xls，请另存为 .xlsx 或 CSV"
BROKEN_XLSX = "文件不是有效的Excel（.xlsx）文件，请用Excel重新另存为 .xlsx 或 CSV 后上传"
UNKNOWN_ENCODING = "文件编码无法识别，请使用UTF-8或GBK编码的CSV文件"
UNDECODABLE = "含有无法识别的字符，请确认整个文件使用同一种编码（UTF-8或GBK）"
ID_AS_NUMBER = "身份证号被Excel存成了数字，请将该列设置为文本格式"
CARD_AS_NUMBER = "银行卡号被Excel存成了数字，末尾数字可能已丢失，请将该列设置为文本格式"


class RosterFileError(ValidationFailed):
    """The file as a whole cannot be read as a roster (the message, zh-CN, says why)."""

    code = "roster_file_invalid"


@dataclass(frozen=True, slots=True)
class RosterRow:
    """One valid roster row, normalised, with what the ID number tells."""

    row: int
    name: str
    id_number: str
    birth_date: date
    sex: str
    employment_status: EmploymentStatus
    unit_code: str
    phone: str | None = None
    bank_card: str | None = None
    bank_name: str | None = None


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem of one row: which column, what it held (masked where personal), and why (zh-CN)."""

    row: int
    column: str
    value: str
    reason: str


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


class _Number(str):
    """The text of a spreadsheet cell that held a number (an ID number must never be one)."""

    __slots__ = ()


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


def _fold(text: str) -> str:
    """A header or code word reduced for matching: NFKC, no spaces, underscores, dashes or stars, lower case."""
    return FOLD_RE.sub("", unicodedata.normalize("NFKC", text)).lower()


def _clean(text: str) -> str:
    """NFKC (full-width → half-width), trimmed, inner whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _digits(text: str) -> str:
    """A number-like cell without spaces, dashes or the apostrophe Excel users type to keep digits."""
    if text.isdigit() and text.isascii():  # the usual case, and cheap
        return str(text)  # a plain str, also for a spreadsheet number's _Number
    return DIGIT_NOISE_RE.sub("", _clean(text)).lstrip("'")


@lru_cache(maxsize=1024)
def _status_of(text: str) -> EmploymentStatus | None:
    """The employment status a cell names, or None (cached: a roster repeats a handful of spellings)."""
    return EMPLOYMENT_VALUES.get(_fold(text))


@lru_cache(maxsize=4096)
def _clean_repeated(text: str) -> str:
    """_clean for the columns whose values repeat down a roster (unit codes, bank names)."""
    return _clean(text)


def _map_header(header: Sequence[str]) -> dict[str, int]:
    """field → column index, preferring the earlier alias when several columns match one field."""
    keys = [_fold(h) for h in header]
    found: dict[str, int] = {}
    for field, (_label, aliases) in COLUMNS.items():
        for alias in aliases:
            if _fold(alias) in keys:
                found[field] = keys.index(_fold(alias))
                break
    missing = [COLUMNS[f][0] for f in REQUIRED if f not in found]
    if missing:
        raise RosterFileError(f"缺少必填列：{'、'.join(missing)}")
    return found


def _masked(column: str, value: str) -> str:
    """The value, masked (first 3 and last 2 kept) if the column holds ID or bank card numbers."""
    return mask_id_number(value) if column in MASKED_COLUMNS else value


def row_error(row: int, field: str, value: str, reason: str) -> RowError:
    """A RowError for a roster field, labelled in zh-CN, with ID and card numbers masked."""
    column = COLUMNS[field][0] if field in COLUMNS else field
    return RowError(row=row, column=column, value=_masked(column, str(value)), reason=reason)


def _normalise_name(raw: str) -> str:
    name = _clean(raw)
    return name.replace(" ", "") if CJK_RE.search(name) else name


def _check_row(number: int, values: Sequence[str], seen: dict[str, int]) -> RosterRow | list[RowError]:
    """The normalised row, or every problem it has; values are the cells of FIELDS, in order."""
    name_cell, id_cell, phone_cell, status_cell, unit_cell, card_cell, bank_cell = values
    problems: list[tuple[str, str]] = []  # (field, reason); RowErrors are built for bad rows only
    name = _normalise_name(name_cell)
    if not name:
        problems.append(("name", "姓名不能为空"))
    elif len(name) > NAME_MAX:
        problems.append(("name", f"姓名不能超过{NAME_MAX}个字符"))
    elif not NAME_RE.fullmatch(name):
        problems.append(("name", "姓名含有非法字符"))
    facts = None
    if isinstance(id_cell, _Number):
        problems.append(("id_number", ID_AS_NUMBER))
    elif not id_cell.strip():
        problems.append(("id_number", "身份证号不能为空"))
    else:
        try:
            facts = parse_id_number(_digits(id_cell))
        except InvalidIdNumber as exc:
            problems.append(("id_number", str(exc)))
    if facts is not None:
        first = seen.setdefault(facts.id_number, number)
        if first != number:
            problems.append(("id_number", f"与第{first}行身份证号重复"))
    status = _status_of(status_cell)
    if status is None:
        problems.append(
            ("employment_status", "在职状态不能为空" if not _fold(status_cell) else "在职状态应为“在职”或“退休”")
        )
    unit = _clean_repeated(unit_cell)
    if not unit:
        problems.append(("unit", "单位不能为空"))
    elif CONTROL_RE.search(unit):
        problems.append(("unit", "单位编码含有非法字符"))
    phone = _digits(phone_cell) or None
    if phone and phone.startswith("+86"):
        phone = phone[3:]
    if phone is not None and not PHONE_RE.fullmatch(phone):
        problems.append(("phone", "手机号应为11位手机号码"))
    card = _digits(card_cell) or None
    if card is not None and isinstance(card_cell, _Number) and len(card) > EXACT_DIGITS:
        problems.append(("bank_card", CARD_AS_NUMBER))
    elif card is not None and not BANK_CARD_RE.fullmatch(card):
        problems.append(("bank_card", "银行卡号应为12-19位数字"))
    bank_name = _clean_repeated(bank_cell) or None
    if bank_name is not None and len(bank_name) > BANK_NAME_MAX:
        problems.append(("bank_name", f"开户银行名称不能超过{BANK_NAME_MAX}个字符"))
    elif bank_name is not None and CONTROL_RE.search(bank_name):
        problems.append(("bank_name", "开户银行名称含有非法字符"))
    if problems or facts is None or status is None:
        return [row_error(number, field, values[FIELDS.index(field)], reason) for field, reason in problems]
    return RosterRow(
        row=number,
        name=name,
        id_number=facts.id_number,
        birth_date=facts.birth_date,
        sex=facts.sex,
        employment_status=status,
        unit_code=unit,
        phone=phone,
        bank_card=card,
        bank_name=bank_name,
    )


def _undecodable(number: int, values: Sequence[str]) -> list[RowError]:
    """The error of a row holding bytes the file's encoding could not decode (U+FFFD), if a roster cell does."""
    for field, value in zip(FIELDS, values, strict=True):
        if "\ufffd" in value:
            return [row_error(number, field, value, UNDECODABLE)]
    return []


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
        return _Number(value)
    if isinstance(value, float):
        return _Number(int(value) if value.is_integer() else value)
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


def _records(source: BinaryIO) -> Iterator[tuple[int, list[str]]]:
    """The file's records, whatever its format; RosterFileError for formats we do not read."""
    start = source.tell() if source.seekable() else None
    head = _read_head(source)
    if head.startswith(OLE_SIGNATURE):
        raise RosterFileError(LEGACY_XLS)
    if head.startswith(ZIP_SIGNATURE):
        return _xlsx_records(source, head, start)
    return _csv_records(source, head)


def _is_blank(record: Sequence[str]) -> bool:
    return not any(cell.strip() for cell in record)


def iter_roster(source: BinaryIO, *, chunk_size: int = 5000) -> Iterator[RosterChunk]:
    """Read a roster (CSV in UTF-8, UTF-8 with BOM or GBK; or .xlsx) as chunks of up to chunk_size data rows.

    At least one chunk is yielded (an empty one for a header-only file); the last one's `rows_read` is the
    total. Duplicate ID numbers are caught across the whole file and point at the first row. Raises
    RosterFileError (on the first chunk, or mid-file for a broken file) when the file is no roster.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    records = _records(source)
    try:
        _, header = next((n, r) for n, r in records if not _is_blank(r))
    except StopIteration:
        raise RosterFileError(EMPTY_FILE) from None
    columns = _map_header(header)
    width = max(columns.values()) + 1
    # Every record gets a trailing "" (and is padded to the header's width): a column the file lacks is read there.
    pick = itemgetter(*(columns.get(f, -1) for f in FIELDS))
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
        record.append("")
        if len(record) <= width:
            record.extend([""] * (width + 1 - len(record)))
        values: tuple[str, ...] = pick(record)
        result = ("\ufffd" in line and _undecodable(number, values)) or _check_row(number, values, seen)
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


def _safe_cell(value: str) -> str:
    """A cell that a spreadsheet will never evaluate as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def error_report_csv(errors: Sequence[RowError]) -> bytes:
    """The row errors as a CSV for Excel (UTF-8 with BOM): 行号, 列, 内容, 原因; IDs masked, no live formulas."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REPORT_HEADER)
    for error in sorted(errors, key=lambda e: e.row):
        cells = (error.column, _masked(error.column, error.value), error.reason)
        writer.writerow([str(error.row), *(_safe_cell(cell) for cell in cells)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
