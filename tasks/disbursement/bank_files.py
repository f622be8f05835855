"""The bank's file formats: the payment file we send (CSV and Excel, with control count and total)
and the result file the bank sends back (paid, or failed with a reason)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from openpyxl import Workbook

from models.base import fen_to_yuan, yuan_to_fen
from models.errors import ValidationFailed

PAYMENT_HEADER = ["付款流水号", "案件编号", "收款人", "银行卡号", "开户银行", "金额(元)"]
RESULT_HEADER = ["付款流水号", "结果", "银行流水号", "失败原因"]
PAID, FAILED = "成功", "失败"


@dataclass(frozen=True)
class PaymentLine:
    """One transfer in a payment file."""

    payment_id: int
    claim_reference: str
    payee_name: str
    bank_card: str
    bank_name: str
    amount_fen: int


@dataclass(frozen=True)
class BankResult:
    """One line of the bank's result file."""

    payment_id: int
    paid: bool
    bank_reference: str | None
    failure_reason: str | None


def _rows(batch_no: str, lines: list[PaymentLine]) -> list[list[str]]:
    total = sum(line.amount_fen for line in lines)
    body = [
        [str(p.payment_id), p.claim_reference, p.payee_name, p.bank_card, p.bank_name, f"{fen_to_yuan(p.amount_fen)}"]
        for p in lines
    ]
    return [["批次号", batch_no, "笔数", str(len(lines)), "合计(元)", f"{fen_to_yuan(total)}"], PAYMENT_HEADER, *body]


def payment_csv(batch_no: str, lines: list[PaymentLine]) -> bytes:
    """The payment file as UTF-8 CSV (with BOM for Excel): a control line, a header, one line a payment."""
    out = io.StringIO()
    csv.writer(out).writerows(_rows(batch_no, lines))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def payment_xlsx(batch_no: str, lines: list[PaymentLine]) -> bytes:
    """The same payment file as an Excel workbook; card numbers are text so Excel keeps every digit."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = batch_no
    for row in _rows(batch_no, lines):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read_payment_csv(data: bytes) -> tuple[str, int, int, list[PaymentLine]]:
    """Parse a payment file: batch number, control count, control total (fen) and the lines; checks controls."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    if len(rows) < 2 or rows[0][:1] != ["批次号"] or rows[1] != PAYMENT_HEADER:
        raise ValidationFailed("不是有效的付款文件")
    batch_no, count, total = rows[0][1], int(rows[0][3]), yuan_to_fen(rows[0][5])
    lines = [PaymentLine(int(r[0]), r[1], r[2], r[3], r[4], yuan_to_fen(r[5])) for r in rows[2:] if r]
    if len(lines) != count or sum(p.amount_fen for p in lines) != total:
        raise ValidationFailed("付款文件的笔数或合计金额与控制行不符")
    return batch_no, count, total, lines


def result_csv(results: list[BankResult]) -> bytes:
    """A result file as the bank writes it."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(RESULT_HEADER)
    for r in results:
        writer.writerow([r.payment_id, PAID if r.paid else FAILED, r.bank_reference or "", r.failure_reason or ""])
    return out.getvalue().encode("utf-8")


def read_result_csv(data: bytes) -> list[BankResult]:
    """Parse the bank's result file; a malformed line is a ValidationFailed naming the line."""
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    except UnicodeDecodeError:
        raise ValidationFailed("银行回盘文件编码错误") from None
    if not rows or rows[0] != RESULT_HEADER:
        raise ValidationFailed("银行回盘文件表头不正确")
    results = []
    for number, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != 4 or row[1] not in (PAID, FAILED) or not row[0].isdigit():
            raise ValidationFailed(f"银行回盘文件第{number}行格式错误")
        results.append(BankResult(int(row[0]), row[1] == PAID, row[2] or None, row[3] or None))
    return results
