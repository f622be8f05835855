"""Invoice numbers held by live claims: a hospital's invoice may back only one live claim (DOMAIN 2.6)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import JSON, String, and_, bindparam, func, or_, select
from sqlalchemy import cast as sql_cast
from sqlmodel import Session

from models.claims import LIVE_CLAIM_STATUSES, Claim, ClaimStatus

CLAIM = Claim.__table__  # type: ignore[attr-defined]
DUPLICATE_INVOICE_PREFIX = "发票号"  # how a refusal for a held invoice begins (what-if keeps such claims refused)


def duplicate_invoice_reason(number: str) -> str:
    """The refusal of a claim whose invoice another live claim holds."""
    return f"{DUPLICATE_INVOICE_PREFIX} {number} 已在其他在办案件中使用"


def held_invoices(
    *, session: Session, hospitals: Iterable[str], numbers: Iterable[str], exclude_claim_ids: Iterable[int] = ()
) -> set[tuple[str, str]]:
    """Which of the (hospital, number) pairs live claims hold: calculated or further on, not refused.

    The database expands the stored number lists and returns only the matches; the excluded claims (e.g. a
    chunk being adjudicated) are left out here rather than with NOT IN, which PostgreSQL would evaluate
    row by row against the whole list.
    """
    names, wanted_numbers = sorted({h for h in hospitals if h}), sorted({n for n in numbers if n})
    if not names or not wanted_numbers:
        return set()
    live = or_(
        CLAIM.c.status.in_(sorted(LIVE_CLAIM_STATUSES - {ClaimStatus.SUBMITTED})),
        and_(CLAIM.c.status == ClaimStatus.SUBMITTED, CLAIM.c.required_levels.is_not(None)),
    )
    number = _elements(session, CLAIM.c.invoice_numbers).alias("invoice")
    wanted = _elements(session, bindparam(None, json.dumps(wanted_numbers), type_=String)).alias("wanted")
    rows = session.execute(
        select(CLAIM.c.id, CLAIM.c.hospital_name, number.c.value)
        .select_from(CLAIM)
        .join(number, number.c.value.in_(select(wanted.c.value)))
        .where(CLAIM.c.hospital_name.in_(names), live)
    ).all()
    excluded = set(exclude_claim_ids)
    return {(hospital, str(value)) for claim_id, hospital, value in rows if claim_id not in excluded}


def _elements(session: Session, array: Any) -> Any:
    """The elements of a JSON array of strings as a table with one column, `value`."""
    if session.get_bind().dialect.name == "postgresql":
        return func.json_array_elements_text(sql_cast(array, JSON)).table_valued("value")
    return func.json_each(array).table_valued("value")
