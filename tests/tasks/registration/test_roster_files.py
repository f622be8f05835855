"""Reading rosters as streams: Excel workbooks, encodings past the sniffed prefix, chunks and their row numbers."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from openpyxl import Workbook

from tasks.registration.roster import RosterChunk, iter_roster, parse_roster
from tasks.registration.roster_file import SNIFF_BYTES, RosterFileError
from tasks.registration.roster_rows import CARD_AS_NUMBER, ID_AS_NUMBER, UNDECODABLE
from tests.factories import id_number

HEADER_ZH = ["姓名", "身份证号", "手机号", "在职状态", "单位编码", "银行卡号", "开户银行"]
HEADER_EN = ["Name", "ID Number", "Phone", "Employment Status", "Unit", "Bank Card", "Bank Name"]


class OneWayStream(io.RawIOBase):
    """A stream that cannot seek and hands out at most 1000 bytes a read, like an HTTP response body."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        piece = self._data.read(min(len(buffer), 1000))
        buffer[: len(piece)] = piece
        return len(piece)


def workbook(*rows: list[Any], header: list[str] = HEADER_ZH, leading_blank_rows: int = 0) -> bytes:
    """An .xlsx whose first sheet holds the header and rows (values typed as given: str, int, float, None)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for _ in range(leading_blank_rows):
        sheet.append([])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.create_sheet("其他")  # only the first sheet is read
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def person(n: int) -> str:
    """The n-th distinct valid ID number, for any n (500 per birth date)."""
    return id_number(n % 500, birth=date(1960, 1, 1) + timedelta(days=n // 500))


def good(n: int, *, phone: Any = "13800138000", unit: str = "G11") -> list[Any]:
    """A valid roster row for the n-th test person."""
    return [f"会员{chr(0x4E00 + n)}", person(n), phone, "在职", unit, "6222020202020202", "工商银行"]


def chunks_of(data: bytes, chunk_size: int, *, seekable: bool = True) -> list[RosterChunk]:
    source = io.BytesIO(data) if seekable else io.BufferedReader(OneWayStream(data))
    return list(iter_roster(source, chunk_size=chunk_size))  # type: ignore[arg-type]


@pytest.mark.parametrize("header", [HEADER_ZH, HEADER_EN], ids=["zh", "en"])
@pytest.mark.parametrize("seekable", [True, False], ids=["file", "stream"])
def test_xlsx_with_chinese_or_english_headers(header: list[str], seekable: bool) -> None:
    data = workbook(good(1), [], good(2, phone=13900000000), header=header, leading_blank_rows=1)
    (chunk,) = chunks_of(data, 100, seekable=seekable)

    assert chunk.errors == [] and chunk.rows_read == 2
    first, second = chunk.rows
    assert (first.row, first.id_number, first.phone) == (3, person(1), "13800138000")  # header on row 2
    assert (second.row, second.phone) == (5, "13900000000")  # a phone stored as a number keeps its digits


@pytest.mark.parametrize(
    "stored",
    [lambda n: int(person(n)), lambda n: float(person(n))],
    ids=["int", "float-as-excel-keeps-it"],
)
def test_xlsx_id_stored_as_number_is_refused_clearly(stored: Any) -> None:
    row = good(3)
    row[1] = stored(3)
    parsed = parse_roster(workbook(good(1), row, good(2)))

    assert [r.row for r in parsed.rows] == [2, 4]
    (error,) = parsed.errors
    assert (error.row, error.column, error.reason) == (3, "身份证号", ID_AS_NUMBER)
    assert error.reason == "身份证号被Excel存成了数字，请将该列设置为文本格式"
    assert person(3)[3:-2] not in error.value  # masked even so


def test_xlsx_numbers_elsewhere() -> None:
    long_card = good(1)
    long_card[5] = 6222020202020202  # 16 digits: Excel keeps only 15 significant ones
    short_card = good(2, phone=13800138000.0)  # a float phone number is still the number
    short_card[5] = 622202020202  # 12 digits survive
    numeric_unit = good(3)
    numeric_unit[4] = 1101  # a unit code typed as a number reads as its digits
    parsed = parse_roster(workbook(long_card, short_card, numeric_unit))

    assert [(e.row, e.column, e.reason) for e in parsed.errors] == [(2, "银行卡号", CARD_AS_NUMBER)]
    second, third = parsed.rows
    assert (second.phone, second.bank_card) == ("13800138000", "622202020202")
    assert third.unit_code == "1101"


def test_xlsx_header_only_and_empty_sheet() -> None:
    (chunk,) = chunks_of(workbook(), 10)
    assert (chunk.rows, chunk.errors, chunk.rows_read) == ([], [], 0)
    book = Workbook()
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(RosterFileError, match="文件为空"):
        parse_roster(out.getvalue())


def test_a_zip_that_is_no_workbook_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(RosterFileError, match=r"不是有效的Excel（\.xlsx）文件"):
        parse_roster(out.getvalue())


def test_legacy_xls_is_refused() -> None:
    with pytest.raises(RosterFileError) as caught:
        parse_roster(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1024)
    assert caught.value.message == "不支持旧版 .xls，请另存为 .xlsx 或 CSV"
    assert caught.value.code == "roster_file_invalid"


def test_utf16_text_is_refused_as_an_encoding() -> None:
    with pytest.raises(RosterFileError, match="编码"):
        parse_roster("\ufeff姓名\t身份证号\n".encode("utf-16-le"))


def csv_roster(lines: list[str], *, encoding: str = "utf-8", bom: bool = False) -> bytes:
    data = "\r\n".join([",".join(HEADER_ZH), *lines, ""]).encode(encoding)
    return (b"\xef\xbb\xbf" if bom else b"") + data


def line(n: int, name: str | None = None) -> str:
    return ",".join(str(v) for v in good(n)) if name is None else ",".join([name, *map(str, good(n)[1:])])


def test_chunks_keep_row_numbers_and_catch_duplicates_across_the_file() -> None:
    lines = [line(n) for n in range(1, 8)]  # rows 2..8
    lines.insert(3, "")  # a blank line: row 5, not a data row
    lines[6] = line(1, name="张三丰")  # row 8 (chunk 3) repeats row 2 (chunk 1)
    chunks = chunks_of(csv_roster(lines), 2)

    assert [c.rows_read for c in chunks] == [2, 4, 6, 7]
    assert [[r.row for r in c.rows] for c in chunks] == [[2, 3], [4, 6], [7], [9]]
    (duplicate,) = chunks[2].errors
    assert (duplicate.row, duplicate.column, duplicate.reason) == (8, "身份证号", "与第2行身份证号重复")
    assert all(not c.errors for i, c in enumerate(chunks) if i != 2)


def test_header_only_yields_one_empty_chunk_and_bad_chunk_size_is_refused() -> None:
    assert [(c.rows, c.errors, c.rows_read) for c in chunks_of(csv_roster([]), 5)] == [([], [], 0)]
    with pytest.raises(ValueError):
        next(iter_roster(io.BytesIO(csv_roster([])), chunk_size=0))


@pytest.mark.parametrize("encoding,bom", [("gbk", False), ("utf-8", True), ("utf-8", False)])
def test_encodings_through_a_one_way_stream(encoding: str, bom: bool) -> None:
    lines = [line(n, name=f"王{chr(0x4E00 + n)}华") for n in range(1, 2001)]  # well past the sniffed prefix
    chunks = chunks_of(csv_roster(lines, encoding=encoding, bom=bom), 700, seekable=False)

    assert [c.rows_read for c in chunks] == [700, 1400, 2000]
    rows = [r for c in chunks for r in c.rows]
    assert len(rows) == 2000 and not any(c.errors for c in chunks)
    assert (rows[-1].row, rows[-1].name) == (2001, f"王{chr(0x4E00 + 2000)}华")


def test_a_character_split_by_the_sniffed_prefix_is_read_whole() -> None:
    head = ",".join(HEADER_ZH).encode("gbk") + b"\r\n"
    filler = line(1, name="李" + "a" * 10).encode("gbk") + b"\r\n"
    data = head + filler
    while len(data) < SNIFF_BYTES - 1:  # pad the first row's name so that 张 (2 bytes) straddles the prefix
        data += b"#" * min(64, SNIFF_BYTES - 1 - len(data)) + b"\r\n"
    data = data[: SNIFF_BYTES - 1] + "张".encode("gbk") + b",x\r\n" + line(2, name="赵四").encode("gbk") + b"\r\n"
    chunks = chunks_of(data, 10_000)
    assert chunks[-1].rows[-1].name == "赵四"
    assert not any(e.reason == UNDECODABLE for c in chunks for e in c.errors)


@pytest.mark.parametrize("encoding,alien", [("gbk", b"\xff\xfe"), ("utf-8", "钱五".encode("gbk"))])
def test_bytes_past_the_prefix_that_do_not_decode_fail_their_row_only(encoding: str, alien: bytes) -> None:
    lines = [line(n) for n in range(1, 3001)]
    data = csv_roster(lines, encoding=encoding)
    assert len(data) > SNIFF_BYTES
    bad_line = f"{line(5000, name='X')}".encode(encoding).replace(b"X", alien, 1) + b"\r\n"
    rows = list(iter_roster(io.BytesIO(data + bad_line + line(5001).encode(encoding) + b"\r\n"), chunk_size=1000))

    errors = [e for c in rows for e in c.errors]
    assert [(e.row, e.column, e.reason) for e in errors] == [(3002, "姓名", UNDECODABLE)]
    assert rows[-1].rows_read == 3002 and rows[-1].rows[-1].row == 3003


def test_tab_separated_text() -> None:
    text = "\t".join(HEADER_ZH) + "\n" + "\t".join(map(str, good(1))) + "\n"
    (row,) = parse_roster(text.encode()).rows
    assert row.id_number == person(1)


def test_a_runaway_quote_is_a_file_error_naming_the_row() -> None:
    lines = [line(1), 'x,"' + "y" * 200_000]
    with pytest.raises(RosterFileError, match="第3行不是有效的CSV格式"):
        parse_roster(csv_roster(lines))


def test_control_characters_in_unit_and_bank_name_fail_the_row() -> None:
    bad_unit = good(1)
    bad_unit[4] = "G1\x011"
    bad_bank = good(2)
    bad_bank[6] = "工商\x07银行"
    parsed = parse_roster(csv_roster([",".join(map(str, bad_unit)), ",".join(map(str, bad_bank))]))
    assert [(e.row, e.column, e.reason) for e in parsed.errors] == [
        (2, "单位", "单位编码含有非法字符"),
        (3, "开户银行", "开户银行名称含有非法字符"),
    ]


def test_many_rows_read_lazily() -> None:
    def generated() -> Iterator[bytes]:
        yield (",".join(HEADER_ZH) + "\n").encode()
        for n in range(1, 20_001):
            yield (line(n) + "\n").encode()

    data = b"".join(generated())
    reader = iter_roster(io.BytesIO(data), chunk_size=5000)
    first = next(reader)  # one chunk read, the rest not yet
    assert (len(first.rows), first.rows_read) == (5000, 5000)
    assert sum(len(c.rows) for c in reader) == 15_000
