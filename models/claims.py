"""Claims (申请补偿) and their documents, with the calculation and its explanation kept on the claim."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from pydantic import Field as PField
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import enum_field, json_field, money_field, status_field, timestamp_field
from models.claims_enums import BenefitType, DocumentType, HospitalTier

__all__ = ["BenefitType", "Claim", "ClaimDocument", "ClaimInput", "ClaimStatus", "DocumentType", "HospitalTier"]


class ClaimStatus(StrEnum):
    """The life of a claim; see models.states for the allowed moves."""

    INCOMPLETE = "incomplete"  # documents missing
    SUBMITTED = "submitted"  # complete, waiting for calculation and routing
    IN_REVIEW = "in_review"  # approval tasks open
    RETURNED = "returned"  # waiting for the applicant's materials
    IN_NOTICE = "in_notice"  # finally approved, publicly posted (公示)
    PAYABLE = "payable"  # notice passed without upheld objection
    IN_PAYMENT = "in_payment"  # in a payment batch
    PAID = "paid"
    PAYMENT_FAILED = "payment_failed"  # bank refused; member corrects, then payable again
    REJECTED = "rejected"


LIVE_CLAIM_STATUSES = frozenset(
    {
        ClaimStatus.INCOMPLETE,
        ClaimStatus.SUBMITTED,
        ClaimStatus.IN_REVIEW,
        ClaimStatus.RETURNED,
        ClaimStatus.IN_NOTICE,
        ClaimStatus.PAYABLE,
        ClaimStatus.IN_PAYMENT,
        ClaimStatus.PAYMENT_FAILED,
        ClaimStatus.PAID,
    }
)
# Claims that count against the member's annual cap (DOMAIN 2.6 rule 4: approved or paid).
CAP_COUNTING_STATUSES = frozenset(
    {
        ClaimStatus.IN_NOTICE,
        ClaimStatus.PAYABLE,
        ClaimStatus.IN_PAYMENT,
        ClaimStatus.PAYMENT_FAILED,
        ClaimStatus.PAID,
    }
)


class ClaimInput(BaseModel):
    """The claim data an applicant gives (DOMAIN 2.5). Amounts are exact yuan (Decimal), never float.

    `benefit_type` names one of the programme's benefits (models.rules); which fields it needs depends on
    its kind and is checked when the claim is filed: a hospital stay needs the hospital, its tier and the
    discharge date, a lump sum the diagnosis code, a requested amount the amount. For a benefit that is
    not a hospital stay, `admission_date` is the date of the event (事由发生日期).
    """

    model_config = ConfigDict(extra="forbid")

    benefit_type: str = PField(default=BenefitType.HOSPITALISATION, pattern=r"^[a-z][a-z0-9_]{0,23}$")
    admission_date: date
    discharge_date: date | None = None
    hospital_name: str = PField(default="", max_length=120)
    hospital_tier: HospitalTier | None = None
    diagnosis_code: str = PField(default="", max_length=16)
    diagnosis_text: str = PField(default="", max_length=200)
    invoice_numbers: list[str] = PField(default_factory=list, max_length=50)
    total_cost: Decimal = PField(default=Decimal(0), ge=0, max_digits=12, decimal_places=2)
    basic_insurance: Decimal = PField(default=Decimal(0), ge=0, max_digits=12, decimal_places=2)
    serious_illness_insurance: Decimal = PField(default=Decimal(0), ge=0, max_digits=12, decimal_places=2)
    other_reimbursement: Decimal = PField(default=Decimal(0), ge=0, max_digits=12, decimal_places=2)
    self_paid: Decimal = PField(default=Decimal(0), ge=0, max_digits=12, decimal_places=2)
    requested_amount: Decimal | None = PField(default=None, ge=0, max_digits=12, decimal_places=2)
    agent_name: str | None = PField(default=None, max_length=64)
    agent_id_number: str | None = PField(default=None, max_length=18)

    @field_validator("invoice_numbers")
    @classmethod
    def _invoice_numbers_plain(cls, numbers: list[str]) -> list[str]:
        cleaned = [n.strip() for n in numbers if n.strip()]
        for number in cleaned:
            if len(number) > 40:
                raise ValueError("invoice number longer than 40 characters")
        return cleaned

    @model_validator(mode="after")
    def _dates_in_order(self) -> ClaimInput:
        if self.discharge_date is not None and self.discharge_date < self.admission_date:
            raise ValueError("discharge_date is before admission_date")
        if self.agent_name and not self.agent_id_number:
            raise ValueError("an agent's ID number is required when an agent files the claim")
        return self

    @property
    def end_date(self) -> date:
        """The discharge date, or the event date for a benefit without a hospital stay."""
        return self.discharge_date or self.admission_date


class Claim(SQLModel, table=True):
    """A member's claim for one covered event."""

    __tablename__ = "claim"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=24, unique=True)  # non-guessable, what the member quotes
    intake_key: str | None = Field(default=None, max_length=200, unique=True)  # the inbox folder it came from
    member_id: int = Field(foreign_key="member.id", index=True)
    enrolment_id: int | None = Field(default=None, foreign_key="enrolment.id", index=True)
    policy_year_id: int = Field(foreign_key="policy_year.id", index=True)
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True)  # the member's grassroots union
    benefit_type: str = enum_field(length=24)  # a key of the year's rules.benefits
    status: str = status_field(ClaimStatus.INCOMPLETE)
    version: int = 1
    filed_by: int | None = Field(default=None, foreign_key="app_user.id")
    agent_name: str | None = Field(default=None, max_length=64)
    agent_id_number: str | None = Field(default=None, max_length=18)
    admission_date: date
    discharge_date: date
    hospital_name: str = Field(default="", max_length=120)
    hospital_tier: HospitalTier | None = enum_field(default=None, length=16, nullable=True)
    diagnosis_code: str = Field(default="", max_length=16)
    diagnosis_text: str = Field(default="", max_length=200)
    invoice_numbers: list[str] = json_field(default_factory=list)
    total_fen: int = money_field()
    basic_insurance_fen: int = money_field()
    serious_illness_fen: int = money_field()
    other_reimbursement_fen: int = money_field()
    self_paid_fen: int = money_field()
    requested_fen: int | None = money_field(default=None)
    eligible_fen: int | None = money_field(default=None)
    payout_fen: int | None = money_field(default=None)
    explanation: list[dict[str, Any]] = json_field(default_factory=list)
    missing_documents: list[str] = json_field(default_factory=list)
    required_levels: int | None = None
    current_level: int | None = None
    review_round: int = 1
    rejection_reason: str | None = Field(default=None, max_length=500)
    submitted_at: datetime = timestamp_field()
    decided_at: datetime | None = timestamp_field(default_now=False)
    notice_ends_at: datetime | None = timestamp_field(default_now=False)
    paid_at: datetime | None = timestamp_field(default_now=False)
    rules_version: int | None = None  # the version of the year's rules the payout was calculated under


class ClaimDocument(SQLModel, table=True):
    """One file of a claim; the bytes live in object storage under a content-addressed key."""

    __tablename__ = "claim_document"
    __table_args__ = (UniqueConstraint("claim_id", "doc_type", "sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claim.id", index=True)
    doc_type: DocumentType = enum_field(length=24)
    filename: str = Field(max_length=200)
    object_key: str = Field(max_length=255)
    media_type: str = Field(max_length=64)
    size: int
    sha256: str = Field(max_length=64, index=True)
    uploaded_at: datetime = timestamp_field()
