"""The 18-character resident ID number (GB 11643-1999, DOMAIN 2.2)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tasks.common.idcard import (
    CHECK_CHARS,
    WEIGHTS,
    InvalidIdNumber,
    check_char,
    make_id_number,
    normalise_id_number,
    parse_id_number,
)

FULLWIDTH = {str(i): chr(0xFF10 + i) for i in range(10)}


def reference_check_char(first17: str) -> str:
    """The check character computed independently from the standard's table."""
    total = sum(int(d) * w for d, w in zip(first17, [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], strict=True))
    return "10X98765432"[total % 11]


def test_tables_match_the_standard() -> None:
    assert WEIGHTS == (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    assert CHECK_CHARS == "10X98765432"


def test_known_valid_number_with_x() -> None:
    facts = parse_id_number("11010519491231002X")
    assert facts.id_number == "11010519491231002X"
    assert facts.birth_date == date(1949, 12, 31)
    assert facts.sex == "F"  # 17th char 2: even


def test_known_valid_numbers() -> None:
    # 440524188001010014 is the textbook example but born before 1900, which the parser refuses as unreasonable.
    assert check_char("44052418800101001") == "4"
    with pytest.raises(InvalidIdNumber, match="不合理"):
        parse_id_number("440524188001010014")


@pytest.mark.parametrize("last", list("0123456789"))
def test_wrong_check_digit(last: str) -> None:
    with pytest.raises(InvalidIdNumber, match="校验位"):
        parse_id_number("110105194912310020"[:17] + last)


def test_every_wrong_check_char_is_refused_for_a_generated_number() -> None:
    good = make_id_number("310101", date(1990, 7, 1), 12, male=True)
    for ch in "0123456789X":
        number = good[:17] + ch
        if ch == good[17]:
            assert parse_id_number(number).id_number == good
        else:
            with pytest.raises(InvalidIdNumber, match="校验位"):
                parse_id_number(number)


def test_lowercase_x_is_accepted_and_normalised() -> None:
    facts = parse_id_number("11010519491231002x")
    assert facts.id_number == "11010519491231002X"
    assert normalise_id_number("11010519491231002x") == "11010519491231002X"


def test_full_width_digits_and_x_are_normalised() -> None:
    fullwidth = "".join(FULLWIDTH[c] for c in "11010519491231002") + "\uff38"  # Ｘ
    assert parse_id_number(fullwidth).id_number == "11010519491231002X"
    lower_fullwidth = "".join(FULLWIDTH[c] for c in "11010519491231002") + "\uff58"  # ｘ
    assert parse_id_number(lower_fullwidth).id_number == "11010519491231002X"


def test_spaces_are_stripped() -> None:
    assert parse_id_number(" 110105 19491231 002X ").id_number == "11010519491231002X"
    assert parse_id_number("\u3000110105194912310 02X\u3000").id_number == "11010519491231002X"


@pytest.mark.parametrize(
    "raw",
    ["", "1101051949123100", "11010519491231002", "11010519491231002X0", "1101051949123100201", "X" * 18],
)
def test_wrong_length_or_characters(raw: str) -> None:
    with pytest.raises(InvalidIdNumber):
        parse_id_number(raw)


@pytest.mark.parametrize("raw", ["11010519491231002", "1101051949123100201", "11010519491231002XX"])
def test_17_and_19_characters_say_length(raw: str) -> None:
    with pytest.raises(InvalidIdNumber, match="18位"):
        parse_id_number(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "1101051949123100AX",  # letter in the body
        "A1010519491231002X",
        "11010519491231002Y",  # only X may be a letter, and only last
        "110105X94912310021",
        "11010519491231002-",
        "1101051949-231002X",
    ],
)
def test_letters_and_symbols_are_refused(raw: str) -> None:
    with pytest.raises(InvalidIdNumber, match="非法字符"):
        parse_id_number(raw)


def with_birth(birth: str) -> str:
    first17 = "110105" + birth + "002"
    return first17 + check_char(first17)


@pytest.mark.parametrize("birth", ["19900230", "19901301", "19900001", "19900100", "19900431", "19010229", "20230229"])
def test_impossible_birth_dates(birth: str) -> None:
    with pytest.raises(InvalidIdNumber, match="不存在"):
        parse_id_number(with_birth(birth))


def test_leap_day_is_a_real_date() -> None:
    assert parse_id_number(with_birth("20000229")).birth_date == date(2000, 2, 29)
    assert parse_id_number(with_birth("19960229")).birth_date == date(1996, 2, 29)


@pytest.mark.parametrize("days", [1, 30, 3650])
def test_future_birth_date_is_refused(days: int) -> None:
    future = date.today() + timedelta(days=days)
    with pytest.raises(InvalidIdNumber, match="不合理"):
        parse_id_number(with_birth(f"{future:%Y%m%d}"))


def test_birth_today_is_accepted() -> None:
    assert parse_id_number(with_birth(f"{date.today():%Y%m%d}")).birth_date == date.today()


def test_birth_before_1900_is_refused() -> None:
    with pytest.raises(InvalidIdNumber, match="不合理"):
        parse_id_number(with_birth("18991231"))


@pytest.mark.parametrize(("seventeenth", "sex"), [(str(d), "M" if d % 2 else "F") for d in range(10)])
def test_sex_from_the_17th_character(seventeenth: str, sex: str) -> None:
    first17 = "1101051980051700" + seventeenth
    assert parse_id_number(first17 + check_char(first17)).sex == sex


@pytest.mark.parametrize(
    "first17", ["11010519491231002", "44052418800101001", "00000000000000000", "99999999999999999"]
)
def test_check_char_matches_an_independent_computation(first17: str) -> None:
    assert check_char(first17) == reference_check_char(first17)


@pytest.mark.parametrize("male", [True, False])
@pytest.mark.parametrize(
    "birth", [date(1950, 1, 1), date(1966, 12, 31), date(1980, 5, 17), date(2000, 2, 29), date(2010, 10, 10)]
)
@pytest.mark.parametrize("region", ["110105", "370102", "440305", "650102"])
def test_make_id_number_round_trips(region: str, birth: date, male: bool) -> None:
    seen = set()
    for sequence in (0, 1, 7, 99, 123, 498, 499, 500, 999):
        number = make_id_number(region, birth, sequence, male=male)
        facts = parse_id_number(number)
        assert len(number) == 18
        assert number[:6] == region
        assert facts.id_number == number
        assert facts.birth_date == birth
        assert facts.sex == ("M" if male else "F")
        assert number[17] == reference_check_char(number[:17])
        seen.add(number)
    assert len(seen) == 7  # sequences are taken modulo 500: 0 = 500 and 499 = 999


def test_make_id_number_is_distinct_for_many_sequences() -> None:
    numbers = {make_id_number("110105", date(1980, 5, 17), n, male=male) for n in range(500) for male in (True, False)}
    assert len(numbers) == 1000
    for number in numbers:
        assert parse_id_number(number).id_number == number
