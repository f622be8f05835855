"""Roster parsing and validation: encodings, headers, every row reason, file-level refusals, the error report."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from models.errors import ValidationFailed
from models.members import EmploymentStatus
from tasks.registration.error_report import error_report_csv
from tasks.registration.roster import parse_roster
from tasks.registration.roster_file import RosterFileError
from tasks.registration.roster_rows import RowError
from tests.factories import id_number

HEADER_ZH = "姓名,身份证号,手机号,在职状态,单位,银行卡号,开户银行"
HEADER_EN = "Name, ID_Number ,PHONE,employment status,unit,bank_card,Bank Name"


def roster(*lines: str, header: str = HEADER_ZH) -> str:
    """A roster text with the header and the given data lines."""
    return "\r\n".join([header, *lines]) + "\r\n"


def good_line(n: int = 1, *, name: str = "张三", status: str = "在职", unit: str = "G11") -> str:
    """A valid data line for the n-th test ID number."""
    return f"{name},{id_number(n)},13800138000,{status},{unit},6222020202020202,工商银行"


def reasons_of(errors: list[RowError]) -> dict[tuple[int, str], str]:
    """(row, column) → reason."""
    return {(e.row, e.column): e.reason for e in errors}


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("utf-8"),
        lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),
        lambda text: text.encode("gbk"),
    ],
    ids=["utf-8", "utf-8-bom", "gbk"],
)
def test_reads_each_encoding(encode) -> None:
    parsed = parse_roster(encode(roster(good_line(1), good_line(2, name="李四", status="退休"))))

    assert parsed.total_rows == 2 and parsed.errors == []
    first, second = parsed.rows
    assert (first.row, first.name, first.unit_code) == (2, "张三", "G11")
    assert first.birth_date == date(1980, 5, 17) and first.sex == "M"
    assert first.employment_status == EmploymentStatus.IN_SERVICE
    assert (first.phone, first.bank_card, first.bank_name) == ("13800138000", "6222020202020202", "工商银行")
    assert (second.row, second.name, second.employment_status) == (3, "李四", EmploymentStatus.RETIRED)


def test_english_headers_any_case_and_spacing_and_english_values() -> None:
    line = f"Wang  Xiao   Ming,{id_number(3, male=False)},,In Service,G12,,"
    parsed = parse_roster(roster(line, header=HEADER_EN).encode())

    assert parsed.errors == []
    (row,) = parsed.rows
    assert row.name == "Wang Xiao Ming" and row.sex == "F"
    assert row.employment_status == EmploymentStatus.IN_SERVICE
    assert row.phone is None and row.bank_card is None and row.bank_name is None


def test_alternative_chinese_headers_and_full_width_values() -> None:
    header = "身份证号码,姓名,联系电话,人员状态,单位编码,开户行"
    full_width_id = id_number(4).translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    line = f"{full_width_id}, 王　 小 明 ,１３９ ００００ ００００,在岗,Ｇ１１,建设银行"
    parsed = parse_roster(roster(line, header=header).encode())

    assert parsed.errors == []
    (row,) = parsed.rows
    assert row.id_number == id_number(4)
    assert row.name == "王小明"  # Chinese names keep no spaces
    assert row.phone == "13900000000" and row.unit_code == "G11"


def test_every_row_reason_and_good_rows_kept() -> None:
    bad_check = id_number(5)[:-1] + ("0" if id_number(5)[-1] != "0" else "1")
    lines = [
        good_line(1),
        f",{id_number(6)},,在职,G11,,",  # row 3: no name
        "赵六,,,在职,G11,,",  # row 4: no ID
        "钱七,11010519800517,,在职,G11,,",  # row 5: wrong length
        f"孙八,{bad_check},,在职,G11,,",  # row 6: check digit
        "周九,110105198002300011,,在职,G11,,",  # row 7: 30 February
        f"吴十,{id_number(7)},,下岗,,,",  # row 8: status, unit
        f"郑一,{id_number(8)},1234567,,G11,,",  # row 9: phone, empty status
        f"冯二,{id_number(9)},12800138000,退休,G11,6222-02,",  # row 10: phone prefix, card
        f"陈3,{id_number(10)},,退休,G11,,",  # row 11: digit in name
    ]
    parsed = parse_roster(roster(*lines).encode())

    assert parsed.total_rows == 10
    assert [r.row for r in parsed.rows] == [2]
    assert reasons_of(parsed.errors) == {
        (3, "姓名"): "姓名不能为空",
        (4, "身份证号"): "身份证号不能为空",
        (5, "身份证号"): "身份证号应为18位",
        (6, "身份证号"): "身份证号校验位错误",
        (7, "身份证号"): "身份证号中的出生日期不存在",
        (8, "在职状态"): "在职状态应为“在职”或“退休”",
        (8, "单位"): "单位不能为空",
        (9, "手机号"): "手机号应为11位手机号码",
        (9, "在职状态"): "在职状态不能为空",
        (10, "手机号"): "手机号应为11位手机号码",
        (10, "银行卡号"): "银行卡号应为12-19位数字",
        (11, "姓名"): "姓名含有非法字符",
    }


def test_duplicate_id_in_file_rejects_later_rows() -> None:
    parsed = parse_roster(roster(good_line(1), good_line(2), "", good_line(1, name="张三丰")).encode())

    assert [r.row for r in parsed.rows] == [2, 3]
    (error,) = parsed.errors
    assert (error.row, error.column, error.reason) == (5, "身份证号", "与第2行身份证号重复")  # blank row 4 counts
    assert parsed.total_rows == 3
    assert error.value != id_number(1) and error.value.startswith(id_number(1)[:3])


def test_missing_required_columns_are_named() -> None:
    with pytest.raises(RosterFileError) as caught:
        parse_roster("姓名,手机号,单位\n张三,13800138000,G11\n".encode())
    assert "身份证号" in caught.value.message and "在职状态" in caught.value.message
    assert "单位" not in caught.value.message.split("：", 1)[1]
    assert isinstance(caught.value, ValidationFailed)


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3",
        "姓名,身份证号\x00,在职状态,单位\n".encode(),
    ],
    ids=["png", "pdf", "nul-bytes"],
)
def test_binary_files_are_refused(data: bytes) -> None:
    with pytest.raises(RosterFileError, match="不是CSV或Excel"):
        parse_roster(data)


def test_a_broken_zip_is_refused_as_excel() -> None:
    with pytest.raises(RosterFileError, match=r"不是有效的Excel（\.xlsx）文件"):
        parse_roster(b"PK\x03\x04\x14\x00\x06\x00\x08\x00xl/workbook.xml")


def test_undecodable_bytes_are_refused() -> None:
    with pytest.raises(RosterFileError, match="编码"):
        parse_roster(HEADER_ZH.encode() + b"\n\x80\x80\x80,\xff\xff\n")


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"  \r\n\r\n"], ids=["empty", "bom-only", "blank-lines"])
def test_empty_file_is_refused(data: bytes) -> None:
    with pytest.raises(RosterFileError, match="文件为空"):
        parse_roster(data)


def test_header_only_is_zero_rows() -> None:
    parsed = parse_roster((HEADER_ZH + "\n").encode("utf-8-sig"))
    assert (parsed.rows, parsed.errors, parsed.total_rows) == ([], [], 0)


def read_report(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_error_report_escapes_formula_cells() -> None:
    lines = [
        f'=HYPERLINK("http://x"),{id_number(1)},,在职,G11,,',
        f"张三,{id_number(2)},,@SUM(A1),G11,,",
        f"李四,{id_number(3)},+8613800138000x,在职,G11,,",
        f"王五,{id_number(4)},-1,在职,G11,,",
    ]
    parsed = parse_roster(roster(*lines).encode())
    extra = RowError(row=9, column="单位", value="\t=1+1", reason="单位编码不存在")
    report = read_report(error_report_csv([*parsed.errors, extra]))

    assert report[0] == ["行号", "列", "内容", "原因"]
    values = {(r[0], r[1]): r[2] for r in report[1:]}
    assert values[("2", "姓名")] == '\'=HYPERLINK("http://x")'
    assert values[("3", "在职状态")] == "'@SUM(A1)"
    assert values[("4", "手机号")] == "'+8613800138000x"
    assert values[("5", "手机号")] == "'-1"
    assert values[("9", "单位")] == "'\t=1+1"
    for row in report[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


def test_error_report_masks_id_numbers() -> None:
    full = id_number(1)
    parsed = parse_roster(roster(good_line(1), good_line(1)).encode())
    raw = RowError(row=7, column="身份证号", value=full, reason="已在本年度登记")  # an unmasked error from elsewhere
    data = error_report_csv([*parsed.errors, raw])

    assert full.encode() not in data
    report = read_report(data)
    masked = full[:3] + "*" * 13 + full[-2:]
    assert [r[2] for r in report[1:]] == [masked, masked]
    assert [r[0] for r in report[1:]] == ["3", "7"]
