"""Generated demo data: an org tree, a roster CSV, claim intakes with document files, bank cards.

Deterministic (seeded) so two demo runs tell the same story.
"""

from __future__ import annotations

import random
import struct
import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from models.claims import ClaimInput
from models.claims_enums import BenefitType, DocumentType, HospitalTier
from tasks.common.idcard import make_id_number

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰海燕鹏飞晓东春梅文斌宇"
HOSPITALS = [("市第一人民医院", HospitalTier.TIER3), ("市中医院", HospitalTier.TIER3), ("区人民医院", HospitalTier.TIER2),
             ("县医院", HospitalTier.TIER2), ("镇卫生院", HospitalTier.TIER1)]  # fmt: skip
DIAGNOSES = [("J18.9", "肺炎"), ("K35.8", "急性阑尾炎"), ("I10", "高血压"), ("E11.9", "2型糖尿病"),
             ("S72.0", "股骨颈骨折"), ("K80.2", "胆囊结石"), ("N20.0", "肾结石")]  # fmt: skip
HOSPITAL_DOCS = [DocumentType.ID_CARD, DocumentType.INVOICE, DocumentType.EXPENSE_LIST,
                 DocumentType.DISCHARGE_SUMMARY, DocumentType.SETTLEMENT_STATEMENT, DocumentType.BANK_CARD]  # fmt: skip


@dataclass(frozen=True)
class DemoMember:
    """A roster line of the demo."""

    name: str
    id_number: str
    phone: str
    employment: str
    unit_code: str
    bank_card: str
    bank_name: str


def luhn_card(rng: random.Random, *, valid: bool = True) -> str:
    """A 16-digit card number that passes (or fails) the Luhn check."""
    body = "622202" + "".join(str(rng.randint(0, 9)) for _ in range(9))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    check = (10 - total % 10) % 10
    return body + str(check if valid else (check + 1) % 10)


def members(unit_codes: list[str], count: int, seed: int = 7) -> list[DemoMember]:
    """count members spread over the units; a handful too old to be eligible, a couple with bad cards."""
    rng = random.Random(seed)
    result = []
    for i in range(count):
        birth = date(1955, 1, 1) + timedelta(days=(i * 37) % 18000)
        if i % 400 == 399:
            birth = date(1946, 3, 1) + timedelta(days=i)  # over 75: ineligible
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        result.append(
            DemoMember(
                name=name,
                id_number=make_id_number("370102", birth, i // 500, male=rng.random() < 0.5),
                phone=f"1{rng.choice('3578')}{rng.randint(0, 999999999):09d}",
                employment="退休" if birth.year < 1966 else "在职",
                unit_code=unit_codes[i % len(unit_codes)],
                bank_card=luhn_card(rng, valid=i % 97 != 5),
                bank_name=rng.choice(["中国工商银行", "中国农业银行", "中国建设银行", "中国银行"]),
            )
        )
    return result


def roster_csv(rows: list[DemoMember], *, bad_rows: bool = True) -> bytes:
    """The roster as a unit officer's Excel would save it (UTF-8 with BOM), with a few bad rows."""
    lines = ["姓名,身份证号,手机号,在职状态,单位编码,银行卡号,开户银行"]
    lines += [
        f"{m.name},{m.id_number},{m.phone},{m.employment},{m.unit_code},{m.bank_card},{m.bank_name}" for m in rows
    ]
    if bad_rows:
        first = rows[0]
        lines += [
            f"错号码,{first.id_number[:17]}{'0' if first.id_number[17] != '0' else '1'},13800000000,在职,{first.unit_code},,",
            f"{first.name},{first.id_number},13800000001,在职,{first.unit_code},,",  # duplicate in file
            f"=HYPERLINK(1),{rows[1].id_number[:6]}19990230{rows[1].id_number[14:]},13800000002,在职,{first.unit_code},,",
        ]
    return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")


def pdf_bytes(title: str) -> bytes:
    """A small, valid one-page PDF carrying a title line."""
    text = title.encode("ascii", "replace")
    stream = b"BT /F1 12 Tf 72 720 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def png_bytes(seed: int) -> bytes:
    """A small, valid 8×8 grey PNG whose pixels depend on seed (a stand-in for a scanned card)."""
    raw = b"".join(b"\x00" + bytes((seed * 31 + x * 7 + y * 13) % 256 for x in range(8)) for y in range(8))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def documents_for(n: int, doc_types: list[DocumentType]) -> list[tuple[DocumentType, str, bytes]]:
    """The scanned files of claim n."""
    docs: list[tuple[DocumentType, str, bytes]] = []
    for doc_type in doc_types:
        if doc_type in (DocumentType.ID_CARD, DocumentType.BANK_CARD):
            docs.append((doc_type, f"{doc_type}.png", png_bytes(n * 10 + len(docs))))
        else:
            docs.append((doc_type, f"{doc_type}.pdf", pdf_bytes(f"claim {n} {doc_type}")))
    return docs


def claim_input(n: int, rng: random.Random, admission: date, kind: str) -> ClaimInput:
    """Claim data of one of the demo's kinds: ordinary, large, hardship, critical."""
    hospital, tier = rng.choice(HOSPITALS)
    code, text = rng.choice(DIAGNOSES)
    stay = rng.randint(3, 20)
    if kind == "large":
        total = Decimal(rng.randint(30000, 45000))
    elif kind == "medium":
        total = Decimal(rng.randint(15000, 22000))
    else:
        total = Decimal(rng.randint(1500, 9000)) + Decimal(rng.randint(0, 99)) / 100
    basic = (total * Decimal(rng.choice(("0.55", "0.6", "0.65")))).quantize(Decimal("0.01"))
    serious = (total * Decimal("0.1")).quantize(Decimal("0.01")) if total > 50000 else Decimal(0)
    self_paid = (total * Decimal("0.05")).quantize(Decimal("0.01"))
    benefit = BenefitType.HOSPITALISATION
    requested = None
    if kind == "hardship":
        benefit, requested = BenefitType.SPECIAL_HARDSHIP, Decimal(rng.choice((2000, 3000, 5000)))
    elif kind == "critical":
        benefit, code, text = BenefitType.CRITICAL_ILLNESS, "C34.9", "肺恶性肿瘤"
    return ClaimInput(
        benefit_type=benefit,
        admission_date=admission,
        discharge_date=admission + timedelta(days=stay),
        hospital_name=hospital,
        hospital_tier=tier,
        diagnosis_code=code,
        diagnosis_text=text,
        invoice_numbers=[f"FP{admission:%Y}{n:06d}"],
        total_cost=total,
        basic_insurance=basic,
        serious_illness_insurance=serious,
        self_paid=self_paid,
        requested_amount=requested,
    )
