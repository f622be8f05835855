"""Invoice numbers held by live claims: a hospital's invoice may back only one live claim (DOMAIN 2.6)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from models.claims import LIVE_CLAIM_STATUSES, Claim, ClaimStatus


def held_invoices(
    *, session: Session, hospitals: Iterable[str], exclude_claim_ids: Iterable[int] = ()
) -> set[tuple[str, str]]:
    """(hospital, invoice number) pairs held by live claims: calculated or further on, not refused."""
    names = {h for h in hospitals if h}
    if not names:
        return set()
    live = or_(
        col(Claim.status).in_(LIVE_CLAIM_STATUSES - {ClaimStatus.SUBMITTED}),
        and_(col(Claim.status) == ClaimStatus.SUBMITTED, col(Claim.required_levels).is_not(None)),
    )
    stmt = select(Claim.hospital_name, Claim.invoice_numbers).where(col(Claim.hospital_name).in_(names), live)
    excluded = set(exclude_claim_ids)
    if excluded:
        stmt = stmt.where(col(Claim.id).not_in(excluded))
    return {(hospital, number) for hospital, numbers in session.exec(stmt).all() for number in numbers or []}
