"""De-identification of names and ID numbers for public documents (DOMAIN 2.9)."""

from __future__ import annotations

import pytest

from tasks.common.masking import mask_id_number, mask_name


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三丰", "张*丰"),
        ("李四", "李*"),
        ("欧阳娜娜", "欧**娜"),
        ("阿卜杜拉·艾买提", "阿******提"),
        ("王", "*"),
        ("", ""),
        ("  张 三丰\u3000", "张*丰"),
        (" 李 四 ", "李*"),
    ],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("id_number", "masked"),
    [
        ("11010519491231002X", "110*************2X"),
        ("11010519491231002x", "110*************2X"),
        (" 110105 19491231 002X ", "110*************2X"),
        ("110105491231002", "110**********02"),
        ("12345", "*****"),
        ("", ""),
    ],
)
def test_mask_id_number(id_number: str, masked: str) -> None:
    assert mask_id_number(id_number) == masked


def test_masked_id_keeps_the_length_and_hides_birth_date() -> None:
    id_number = "44030419850704123X"
    masked = mask_id_number(id_number)
    assert len(masked) == 18
    assert "19850704" not in masked
    assert masked.startswith("440") and masked.endswith("3X")
