"""A stand-in for the bank, which we cannot run here: it reads our payment file and writes a result
file in the bank's format. Cards that fail the Luhn check are refused as a wrong account."""

from __future__ import annotations

import hashlib

from tasks.disbursement.bank_files import BankResult, read_payment_csv, result_csv


def luhn_ok(card: str) -> bool:
    """Whether a card number passes the Luhn check."""
    if not card.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(card)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def settle_payment_file(payment_file: bytes) -> bytes:
    """The bank's result file for a payment file."""
    batch_no, _count, _total, lines = read_payment_csv(payment_file)
    results = []
    for line in lines:
        if luhn_ok(line.bank_card):
            ref = "BK" + hashlib.sha256(f"{batch_no}:{line.payment_id}".encode()).hexdigest()[:14].upper()
            results.append(BankResult(line.payment_id, True, ref, None))
        else:
            results.append(BankResult(line.payment_id, False, None, "账号错误"))
    return result_csv(results)
