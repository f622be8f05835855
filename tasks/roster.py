"""Unit rosters (CSV): decode, map the header, normalise and validate each row (DOMAIN 2.2). Pure, no database.

A bad row never blocks a good one: each problem becomes a `RowError` (row numbers as a spreadsheet shows
them, the header being row 1). Problems with the file itself raise `RosterFileError`. ID numbers and bank
card numbers are masked in every `RowError`, so errors can be logged, stored and shown without leaking them.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from models.errors import ValidationFailed
from models.members import EmploymentStatus
from tasks.idcard import InvalidIdNumber, parse_id_number
from tasks.masking import mask_id_number

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
REQUIRED = ("name", "id_number", "employment_status", "unit")
EMPLOYMENT_VALUES = {  # keys as _fold leaves them: no spaces or underscores, lower case
    "在职": EmploymentStatus.IN_SERVICE,
    "在岗": EmploymentStatus.IN_SERVICE,
    "inservice": EmploymentStatus.IN_SERVICE,
    "退休": EmploymentStatus.RETIRED,
    "retired": EmploymentStatus.RETIRED,
}
BINARY_SIGNATURES = (
    b"PK\x03\x04",  # ZIP, xlsx, docx
    b"%PDF",
    b"\x89PNG",
    b"\xd0\xcf\x11\xe0",  # old .xls / .doc
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
)
PHONE_RE = re.compile(r"1[3-9]\d{9}")
BANK_CARD_RE = re.compile(r"\d{12,19}")
CJK_RE = re.compile(r"[\u3400-\u9fff]")
NAME_RE = re.compile(r"[^\W\d_]([^\W\d_]|[·・•.' -])*")  # letters, with the dots, apostrophes and hyphens of names
NAME_MAX, BANK_NAME_MAX = 64, 64
MASKED_COLUMNS = frozenset({COLUMNS["id_number"][0], COLUMNS["bank_card"][0], "id_number", "bank_card"})
REPORT_HEADER = ("行号", "列", "内容", "原因")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class RosterFileError(ValidationFailed):
    """The file as a whole cannot be read as a roster (the message, zh-CN, says why)."""

    code = "roster_file_invalid"


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class RowError:
    """One problem of one row: which column, what it held (masked where personal), and why (zh-CN)."""

    row: int
    column: str
    value: str
    reason: str


@dataclass
class ParsedRoster:
    """The valid rows, the row errors, and how many data rows the file had (blank lines not counted)."""

    rows: list[RosterRow]
    errors: list[RowError]
    total_rows: int


def _fold(text: str) -> str:
    """A header or code word reduced for matching: NFKC, no spaces, underscores, dashes or stars, lower case."""
    return re.sub(r"[\s_\-*＊]", "", unicodedata.normalize("NFKC", text)).lower()


def _clean(text: str) -> str:
    """NFKC (full-width → half-width), trimmed, inner whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _digits(text: str) -> str:
    """A number-like cell without spaces, dashes or the apostrophe Excel users type to keep digits."""
    return re.sub(r"[\s\-]", "", _clean(text)).lstrip("'")


def _decode(data: bytes) -> str:
    if not data.strip() or data.strip() == b"\xef\xbb\xbf":
        raise RosterFileError("文件为空")
    if data.startswith(BINARY_SIGNATURES) or b"\x00" in data:
        raise RosterFileError("文件不是CSV文本文件，请另存为CSV（逗号分隔）后上传")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gbk")
    except UnicodeDecodeError:
        raise RosterFileError("文件编码无法识别，请使用UTF-8或GBK编码的CSV文件") from None


def _map_header(header: list[str]) -> dict[str, int]:
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
    return RowError(row=row, column=column, value=_masked(column, value), reason=reason)


def _normalise_name(raw: str) -> str:
    name = _clean(raw)
    return name.replace(" ", "") if CJK_RE.search(name) else name


def _check_row(number: int, cell: dict[str, str], seen: dict[str, int]) -> RosterRow | list[RowError]:
    """The normalised row, or every problem it has."""
    errors: list[RowError] = []

    def fail(field: str, reason: str) -> None:
        errors.append(row_error(number, field, cell[field], reason))

    name = _normalise_name(cell["name"])
    if not name:
        fail("name", "姓名不能为空")
    elif len(name) > NAME_MAX:
        fail("name", f"姓名不能超过{NAME_MAX}个字符")
    elif not NAME_RE.fullmatch(name):
        fail("name", "姓名含有非法字符")
    facts = None
    if not cell["id_number"].strip():
        fail("id_number", "身份证号不能为空")
    else:
        try:
            facts = parse_id_number(_digits(cell["id_number"]))
        except InvalidIdNumber as exc:
            fail("id_number", str(exc))
    if facts is not None:
        first = seen.setdefault(facts.id_number, number)
        if first != number:
            fail("id_number", f"与第{first}行身份证号重复")
    status_text = _fold(cell["employment_status"])
    status = EMPLOYMENT_VALUES.get(status_text)
    if status is None:
        fail("employment_status", "在职状态不能为空" if not status_text else "在职状态应为“在职”或“退休”")
    unit = _clean(cell["unit"])
    if not unit:
        fail("unit", "单位不能为空")
    phone = _digits(cell["phone"]) or None
    if phone and phone.startswith("+86"):
        phone = phone[3:]
    if phone is not None and not PHONE_RE.fullmatch(phone):
        fail("phone", "手机号应为11位手机号码")
    card = _digits(cell["bank_card"]) or None
    if card is not None and not BANK_CARD_RE.fullmatch(card):
        fail("bank_card", "银行卡号应为12-19位数字")
    bank_name = _clean(cell["bank_name"]) or None
    if bank_name is not None and len(bank_name) > BANK_NAME_MAX:
        fail("bank_name", f"开户银行名称不能超过{BANK_NAME_MAX}个字符")
    if errors or facts is None or status is None:
        return errors
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


def parse_roster(data: bytes) -> ParsedRoster:
    """Read a roster CSV (UTF-8 with or without BOM, or GBK); raise RosterFileError if it is no roster."""
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0  # the spreadsheet row of the current record
    try:
        header = next(records)
        number += 1
        while not any(cell.strip() for cell in header):
            header = next(records)
            number += 1
    except StopIteration:
        raise RosterFileError("文件为空") from None
    except csv.Error:
        raise RosterFileError("文件不是有效的CSV格式") from None
    columns = _map_header(header)
    rows: list[RosterRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    total = 0
    try:
        for record in records:
            number += 1
            if not any(cell.strip() for cell in record):
                continue
            total += 1
            cell = {f: (record[i] if i < len(record) else "") for f, i in columns.items()}
            cell.update({f: "" for f in COLUMNS if f not in cell})
            result = _check_row(number, cell, seen)
            if isinstance(result, RosterRow):
                rows.append(result)
            else:
                errors.extend(result)
    except csv.Error:
        raise RosterFileError(f"第{number}行不是有效的CSV格式") from None
    return ParsedRoster(rows=rows, errors=errors, total_rows=total)


def _safe_cell(value: str) -> str:
    """A cell that a spreadsheet will never evaluate as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def error_report_csv(errors: list[RowError]) -> bytes:
    """The row errors as a CSV for Excel (UTF-8 with BOM): 行号, 列, 内容, 原因; IDs masked, no live formulas."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REPORT_HEADER)
    for error in sorted(errors, key=lambda e: e.row):
        cells = (error.column, _masked(error.column, error.value), error.reason)
        writer.writerow([str(error.row), *(_safe_cell(cell) for cell in cells)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
