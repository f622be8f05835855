"""The 18-character resident ID number (GB 11643-1999): check digit, birth date and sex."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


class InvalidIdNumber(ValueError):
    """The ID number is malformed; the message (zh-CN) says why."""


@dataclass(frozen=True)
class IdFacts:
    """What an ID number tells about its holder."""

    id_number: str
    birth_date: date
    sex: str  # "M" or "F"


def check_char(first17: str) -> str:
    """The check character for the first 17 digits."""
    total = sum(int(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def normalise_id_number(raw: str) -> str:
    """Strip spaces and full-width forms; upper-case a trailing x."""
    text = raw.strip().replace(" ", "").replace("\u3000", "")
    text = text.translate({0xFF10 + i: 0x30 + i for i in range(10)} | {0xFF38: ord("X"), 0xFF58: ord("X")})
    return text.upper()


def parse_id_number(raw: str) -> IdFacts:
    """Validate an ID number and read its birth date and sex; raise InvalidIdNumber with a reason."""
    number = normalise_id_number(raw)
    if len(number) != 18:
        raise InvalidIdNumber("身份证号应为18位")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise InvalidIdNumber("身份证号含有非法字符")
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdNumber("身份证号中的出生日期不存在") from None
    if birth.year < 1900 or birth > date.today():
        raise InvalidIdNumber("身份证号中的出生日期不合理")
    if check_char(number[:17]) != number[17]:
        raise InvalidIdNumber("身份证号校验位错误")
    sex = "M" if int(number[16]) % 2 == 1 else "F"
    return IdFacts(id_number=number, birth_date=birth, sex=sex)


def make_id_number(region: str, birth: date, sequence: int, *, male: bool) -> str:
    """Build a valid ID number (for demos and tests): 6-digit region, birth date, sequence, check digit."""
    seq = sequence % 500 * 2 + (1 if male else 0)
    first17 = f"{region[:6]:0>6}{birth:%Y%m%d}{seq:03d}"[:17]
    return first17 + check_char(first17)
