"""One roster row (DOMAIN 2.2): its columns, its cells normalised and validated, and the errors of a bad row.

Pure, no database. A bad row never blocks a good one: each problem becomes a `RowError` (row numbers as a
spreadsheet shows them, the header being row 1). ID numbers and bank card numbers are masked in every
`RowError`, so errors can be logged, stored and shown without leaking them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from models.members import EmploymentStatus
from tasks.common.idcard import IdFacts, InvalidIdNumber, parse_id_number
from tasks.common.masking import mask_id_number

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
FIELDS = tuple(COLUMNS)  # the order check_row takes a row's cells in
REQUIRED = ("name", "id_number", "employment_status", "unit")
EMPLOYMENT_VALUES = {  # keys as fold leaves them: no spaces or underscores, lower case
    "在职": EmploymentStatus.IN_SERVICE,
    "在岗": EmploymentStatus.IN_SERVICE,
    "inservice": EmploymentStatus.IN_SERVICE,
    "退休": EmploymentStatus.RETIRED,
    "retired": EmploymentStatus.RETIRED,
}
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

UNDECODABLE = "含有无法识别的字符，请确认整个文件使用同一种编码（UTF-8或GBK）"
ID_AS_NUMBER = "身份证号被Excel存成了数字，请将该列设置为文本格式"
CARD_AS_NUMBER = "银行卡号被Excel存成了数字，末尾数字可能已丢失，请将该列设置为文本格式"

Problems = list[tuple[str, str]]  # (field, reason) of one row; RowErrors are built for bad rows only


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


class SpreadsheetNumber(str):
    """The text of a spreadsheet cell that held a number (an ID number must never be one)."""

    __slots__ = ()


def fold(text: str) -> str:
    """A header or code word reduced for matching: NFKC, no spaces, underscores, dashes or stars, lower case."""
    return FOLD_RE.sub("", unicodedata.normalize("NFKC", text)).lower()


def _clean(text: str) -> str:
    """NFKC (full-width → half-width), trimmed, inner whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _digits(text: str) -> str:
    """A number-like cell without spaces, dashes or the apostrophe Excel users type to keep digits."""
    if text.isdigit() and text.isascii():  # the usual case, and cheap
        return str(text)  # a plain str, also for a spreadsheet number's SpreadsheetNumber
    return DIGIT_NOISE_RE.sub("", _clean(text)).lstrip("'")


@lru_cache(maxsize=1024)
def _status_of(text: str) -> EmploymentStatus | None:
    """The employment status a cell names, or None (cached: a roster repeats a handful of spellings)."""
    return EMPLOYMENT_VALUES.get(fold(text))


@lru_cache(maxsize=4096)
def _clean_repeated(text: str) -> str:
    """_clean for the columns whose values repeat down a roster (unit codes, bank names)."""
    return _clean(text)


def masked(column: str, value: str) -> str:
    """The value, masked (first 3 and last 2 kept) if the column holds ID or bank card numbers."""
    return mask_id_number(value) if column in MASKED_COLUMNS else value


def row_error(row: int, field: str, value: str, reason: str) -> RowError:
    """A RowError for a roster field, labelled in zh-CN, with ID and card numbers masked."""
    column = COLUMNS[field][0] if field in COLUMNS else field
    return RowError(row=row, column=column, value=masked(column, str(value)), reason=reason)


def _checked_name(cell: str, problems: Problems) -> str:
    """The name, normalised (no spaces inside a Chinese name); its problem, if any, added to problems."""
    name = _clean(cell)
    name = name.replace(" ", "") if CJK_RE.search(name) else name
    if not name:
        problems.append(("name", "姓名不能为空"))
    elif len(name) > NAME_MAX:
        problems.append(("name", f"姓名不能超过{NAME_MAX}个字符"))
    elif not NAME_RE.fullmatch(name):
        problems.append(("name", "姓名含有非法字符"))
    return name


def _checked_id(number: int, cell: str, seen: dict[str, int], problems: Problems) -> IdFacts | None:
    """What a valid ID number tells, or None; a number seen on an earlier row (of `seen`) is a duplicate."""
    facts = None
    if isinstance(cell, SpreadsheetNumber):
        problems.append(("id_number", ID_AS_NUMBER))
    elif not cell.strip():
        problems.append(("id_number", "身份证号不能为空"))
    else:
        try:
            facts = parse_id_number(_digits(cell))
        except InvalidIdNumber as exc:
            problems.append(("id_number", str(exc)))
    if facts is not None:
        first = seen.setdefault(facts.id_number, number)
        if first != number:
            problems.append(("id_number", f"与第{first}行身份证号重复"))
    return facts


def _checked_status(cell: str, problems: Problems) -> EmploymentStatus | None:
    """The employment status the cell names, or None (a problem added)."""
    status = _status_of(cell)
    if status is None:
        problems.append(("employment_status", "在职状态不能为空" if not fold(cell) else "在职状态应为“在职”或“退休”"))
    return status


def _checked_unit(cell: str, problems: Problems) -> str:
    """The unit code, cleaned."""
    unit = _clean_repeated(cell)
    if not unit:
        problems.append(("unit", "单位不能为空"))
    elif CONTROL_RE.search(unit):
        problems.append(("unit", "单位编码含有非法字符"))
    return unit


def _checked_phone(cell: str, problems: Problems) -> str | None:
    """The mobile number without +86, or None for a blank cell."""
    phone = _digits(cell) or None
    if phone and phone.startswith("+86"):
        phone = phone[3:]
    if phone is not None and not PHONE_RE.fullmatch(phone):
        problems.append(("phone", "手机号应为11位手机号码"))
    return phone


def _checked_bank(card_cell: str, bank_cell: str, problems: Problems) -> tuple[str | None, str | None]:
    """The bank card number and the bank's name, each None for a blank cell."""
    card = _digits(card_cell) or None
    if card is not None and isinstance(card_cell, SpreadsheetNumber) and len(card) > EXACT_DIGITS:
        problems.append(("bank_card", CARD_AS_NUMBER))
    elif card is not None and not BANK_CARD_RE.fullmatch(card):
        problems.append(("bank_card", "银行卡号应为12-19位数字"))
    bank_name = _clean_repeated(bank_cell) or None
    if bank_name is not None and len(bank_name) > BANK_NAME_MAX:
        problems.append(("bank_name", f"开户银行名称不能超过{BANK_NAME_MAX}个字符"))
    elif bank_name is not None and CONTROL_RE.search(bank_name):
        problems.append(("bank_name", "开户银行名称含有非法字符"))
    return card, bank_name


def check_row(number: int, values: Sequence[str], seen: dict[str, int]) -> RosterRow | list[RowError]:
    """The normalised row, or every problem it has; values are the cells of FIELDS, in order."""
    name_cell, id_cell, phone_cell, status_cell, unit_cell, card_cell, bank_cell = values
    problems: Problems = []
    name = _checked_name(name_cell, problems)
    facts = _checked_id(number, id_cell, seen, problems)
    status = _checked_status(status_cell, problems)
    unit = _checked_unit(unit_cell, problems)
    phone = _checked_phone(phone_cell, problems)
    card, bank_name = _checked_bank(card_cell, bank_cell, problems)
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


def undecodable_error(number: int, values: Sequence[str]) -> list[RowError]:
    """The error of a row holding bytes the file's encoding could not decode (U+FFFD), if a roster cell does."""
    for field, value in zip(FIELDS, values, strict=True):
        if "\ufffd" in value:
            return [row_error(number, field, value, UNDECODABLE)]
    return []
