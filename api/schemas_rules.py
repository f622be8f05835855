"""Request and response shapes of the rules and quote endpoints; amounts as yuan strings beside fen."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import StepPublic
from models.claims import ClaimInput


class RulesPublic(BaseModel):
    """A policy year's rules at one version."""

    programme_code: str
    year: int
    version: int
    current: bool
    note: str = ""
    created_by: str = ""
    created_at: datetime | None = None
    rules: dict[str, Any]


class RulesVersionSummary(BaseModel):
    """One kept version of a year's rules."""

    version: int
    note: str
    created_by: str
    created_at: datetime


class RulesReplace(BaseModel):
    """A whole new rule set for the year."""

    model_config = ConfigDict(extra="forbid")

    rules: dict[str, Any]
    note: str = Field(default="", max_length=200)


class RulesChange(BaseModel):
    """Changes laid over the current rules (nested objects merge key by key)."""

    model_config = ConfigDict(extra="forbid")

    changes: dict[str, Any] = Field(min_length=1)
    note: str = Field(default="", max_length=200)


class QuoteIn(BaseModel):
    """Claim data to price, and optionally the member (for their coverage and remaining cap)."""

    model_config = ConfigDict(extra="forbid")

    programme_code: str = Field(min_length=1, max_length=32)
    claim: ClaimInput
    id_number: str | None = Field(default=None, min_length=15, max_length=18)


class QuotePublic(BaseModel):
    """What the claim would pay and why; nothing was filed."""

    programme_code: str
    year: int
    rules_version: int
    benefit_type: str
    benefit_type_label: str
    payout_fen: int
    payout_yuan: str
    eligible_fen: int | None
    granted: bool
    rejection: str | None
    required_levels: int
    member_known: bool
    remaining_cap_fen: int | None
    remaining_cap_yuan: str | None
    times_used: int
    times_per_year: int | None
    steps: list[StepPublic]
