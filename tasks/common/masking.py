"""De-identification for public documents (DOMAIN 2.9): masked names and masked ID numbers.

A name keeps its first character and, from three characters on, its last; every other character
becomes one '*' (张三丰 → 张*丰, 李四 → 李*, 欧阳娜娜 → 欧**娜). An ID number keeps its first 3 and
last 2 characters, the rest become '*', so its length is unchanged (one of 5 characters or fewer is
masked entirely). Whitespace is never meaningful in
either and is dropped first, so stray spaces cannot shift or leak characters.
"""

from __future__ import annotations

ID_KEEP_HEAD = 3
ID_KEEP_TAIL = 2


def _squeeze(text: str) -> str:
    """The text with all whitespace (incl. full-width spaces) removed."""
    return "".join(text.split())


def mask_name(name: str) -> str:
    """The name with all but its first and (for 3+ characters) last character replaced by '*'."""
    chars = _squeeze(name)
    if len(chars) <= 1:
        return "*" * len(chars)
    if len(chars) == 2:
        return chars[0] + "*"
    return chars[0] + "*" * (len(chars) - 2) + chars[-1]


def mask_id_number(id_number: str) -> str:
    """The ID number with all but its first 3 and last 2 characters replaced by '*'."""
    chars = _squeeze(id_number).upper()
    if len(chars) <= ID_KEEP_HEAD + ID_KEEP_TAIL:
        return "*" * len(chars)
    hidden = len(chars) - ID_KEEP_HEAD - ID_KEEP_TAIL
    return chars[:ID_KEEP_HEAD] + "*" * hidden + chars[-ID_KEEP_TAIL:]
