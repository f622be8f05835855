"""Response schemas that exist only at the API boundary (the entity schemas live in models/)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from models.approvals import TaskPublic


class Health(BaseModel):
    """The service and its database answer."""

    status: str


class Token(BaseModel):
    """An OAuth2 bearer token."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret


class DecisionResult(BaseModel):
    """The task after a decision, and the status its claim moved to."""

    task: TaskPublic
    claim_status: str | None


class ClaimStatusPublic(BaseModel):
    """Where a case stands, for administrators and reviewers: no ID number, bank card or diagnosis."""

    id: int
    reference: str
    org_unit_id: int
    status: str
    status_label: str
    benefit_type: str
    benefit_type_label: str
    payout_yuan: str | None
    required_levels: int | None
    current_level: int | None
    current_level_name: str | None
    review_round: int
    rejection_reason: str | None
    submitted_at: datetime
    decided_at: datetime | None
    notice_ends_at: datetime | None
    paid_at: datetime | None
    missing_documents: list[str]
    explanation: list[str]


class RowErrorPublic(BaseModel):
    """One rejected roster row (ID and bank numbers arrive masked from the parser)."""

    row: int
    column: str
    value: str
    reason: str


class RosterImportResult(BaseModel):
    """What a roster import did: rows read, rows imported, and why the others were refused."""

    total_rows: int
    imported: int
    errors: list[RowErrorPublic]
