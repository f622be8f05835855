"""Response schemas that exist only at the API boundary (the entity schemas live in models/)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.deps import MAX_ID
from models.approvals import TaskPublic
from models.errors import ValidationFailed
from models.funds import FundSource
from tasks.funds.ledger import parse_yuan

Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]
Year = Annotated[int, Field(ge=2000, le=2100)]


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


class StepPublic(BaseModel):
    """One step of a calculation: its code, its sentence, its inputs and result."""

    step: str
    text: str
    result_fen: int | None
    result_yuan: str | None
    inputs: dict[str, Any]


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
    explanation: list[str]  # the calculation's sentences
    calculation: list[StepPublic] = []  # the same steps with their inputs and results


class RowErrorPublic(BaseModel):
    """One rejected roster row (ID and bank numbers arrive masked from the parser)."""

    row: int
    column: str
    value: str
    reason: str


class RosterImportResult(BaseModel):
    """What a roster import did: rows read, rows imported, why the others were refused, and the error report."""

    unit_code: str
    total_rows: int
    imported: int
    rejected_rows: int
    error_count: int
    errors: list[RowErrorPublic]  # the first MAX_ERRORS_SHOWN; the report has them all
    errors_truncated: bool
    error_report_id: str | None
    error_report_url: str | None


class RenewalIn(BaseModel):
    """Carry a unit's active members of one policy year over to a later one of the same programme."""

    model_config = ConfigDict(extra="forbid")

    programme_code: Code
    from_year: Year
    to_year: Year

    @model_validator(mode="after")
    def _later(self) -> RenewalIn:
        if self.to_year <= self.from_year:
            raise ValueError("续保只能转入之后的保障年度（to_year 必须大于 from_year）")
        return self


class RenewalResult(BaseModel):
    """How many enrolments were carried over."""

    unit_code: str
    programme_code: str
    from_year: int
    to_year: int
    carried_over: int


class DueMember(BaseModel):
    """A member due for renewal: the ID number masked to its first 3 and last 2 characters."""

    member_id: int
    name: str
    id_number_masked: str
    employment_status: str
    employment_status_label: str


class RenewalDuePage(BaseModel):
    """One page of the members due for renewal."""

    unit_code: str
    programme_code: str
    year: int
    total: int
    limit: int
    offset: int
    items: list[DueMember]


def _plausible(value: date) -> date:
    if not 2000 <= value.year <= 2100:
        raise ValueError("收款日期无效")
    return value


class ReceiptIn(BaseModel):
    """Money received into the year's fund; the amount in yuan as a decimal string (never a float)."""

    model_config = ConfigDict(extra="forbid")

    source: FundSource
    payer: str = Field(min_length=1, max_length=120)
    amount: str = Field(max_length=24, description='金额（元），字符串，如 "1234.56"', examples=["1234.56"])
    received_on: date
    reference: str = Field(min_length=1, max_length=64)
    payer_unit_code: Code | None = None

    @field_validator("amount")
    @classmethod
    def _amount_ok(cls, value: str) -> str:
        try:
            parse_yuan(value)
        except ValidationFailed as exc:
            raise ValueError(exc.message) from None
        return value

    @field_validator("received_on")
    @classmethod
    def _plausible_date(cls, value: date) -> date:
        return _plausible(value)


class UnitPaymentIn(BaseModel):
    """A unit's payment for its eligible enrolments of the year, or for the listed members only."""

    model_config = ConfigDict(extra="forbid")

    unit_code: Code
    received_on: date
    reference: str = Field(min_length=1, max_length=64)
    member_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(default=None, max_length=100_000)

    @field_validator("received_on")
    @classmethod
    def _plausible_date(cls, value: date) -> date:
        return _plausible(value)


class ReceiptPublic(BaseModel):
    """A recorded receipt."""

    id: int
    source: FundSource
    source_label: str
    payer: str
    payer_unit_code: str | None
    amount_yuan: str
    amount_fen: int
    received_on: date
    reference: str
    member_count: int
    recorded_at: datetime


class UnitPaymentResult(BaseModel):
    """A unit's payment: its receipt, the enrolments it activated, and those left unpaid (cover past year end)."""

    receipt: ReceiptPublic
    activated: int
    not_activated: int
    amount_yuan: str
    amount_fen: int


class SourceTotal(BaseModel):
    """Receipts of one fund source."""

    source: FundSource
    label: str
    amount_yuan: str
    amount_fen: int


class FundPublic(BaseModel):
    """A year's earmarked fund: receipts, payouts and balance (= receipts − payouts), and receipts by source."""

    programme_code: str
    year: int
    receipts_yuan: str
    receipts_fen: int
    payouts_yuan: str
    payouts_fen: int
    balance_yuan: str
    balance_fen: int
    by_source: list[SourceTotal]


class UnitReconciliationPublic(BaseModel):
    """A unit's contributions due against those received (difference = received − expected)."""

    unit_code: str
    unit_name: str
    expected_yuan: str
    expected_fen: int
    received_yuan: str
    received_fen: int
    difference_yuan: str
    difference_fen: int
    members_enrolled: int
    members_activated: int


class ReconciliationPublic(BaseModel):
    """Every unit's reconciliation and the totals."""

    programme_code: str
    year: int
    units: list[UnitReconciliationPublic]
    totals: UnitReconciliationPublic
