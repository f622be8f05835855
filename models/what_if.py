"""The report of a what-if simulation (tasks.claims.what_if): counts and amounts only, never personal data."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel


class BenefitFigures(BaseModel):
    """Granted claims of one benefit type."""

    benefit_type: str
    label: str
    claims: int
    payouts_fen: int
    payouts_yuan: str


class Figures(BaseModel):
    """One side of the comparison: what was granted (actual) or would be (projected)."""

    claims_granted: int
    claims_refused: int
    payouts_fen: int
    payouts_yuan: str
    by_benefit: list[BenefitFigures]
    claim_ratio: Decimal  # payouts / contributions received, 4 places, as the disclosure computes it
    fund_balance_fen: int
    fund_balance_yuan: str
    members_at_cap: int


class Difference(BaseModel):
    """Projected − actual."""

    claims_granted: int
    payouts_fen: int
    payouts_yuan: str
    claim_ratio: Decimal
    fund_balance_fen: int
    fund_balance_yuan: str
    members_at_cap: int


class RuleChange(BaseModel):
    """One rule value the changes moved, by its dotted path."""

    path: str
    before: Any
    after: Any


class WhatIfReport(BaseModel):
    """The year's claims under the current rules (actual) and under the changed rules (projected)."""

    year: int
    rules_version: int  # the version of the year's rules the changes were laid over
    changes: dict[str, Any]
    rules_changed: list[RuleChange]
    claims_considered: int
    claims_in_review: int  # among the actual granted: not finally approved yet
    claims_under_earlier_rules: int  # calculated under an earlier version of the year's rules
    claims_excluded_reviewer_rejected: int
    claims_kept_refused: int  # refused outside the rules (duplicate invoice): refused on both sides
    contributions_fen: int
    contributions_yuan: str
    receipts_fen: int
    receipts_yuan: str
    # the fund as disclosed today (money actually paid), beside the like-with-like comparison below
    paid_to_date_fen: int
    paid_to_date_yuan: str
    disclosed_claim_ratio: Decimal
    disclosed_fund_balance_fen: int
    disclosed_fund_balance_yuan: str
    actual: Figures
    projected: Figures
    difference: Difference
    payouts_up: int
    payouts_down: int
    payouts_unchanged: int
