"""Disbursement (补偿发放): payment batches and payments, each claim paid at most once."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.base import money_field, status_field, timestamp_field


class BatchStatus(StrEnum):
    """created → exported (payment file written) → settled (bank results imported)."""

    CREATED = "created"
    EXPORTED = "exported"
    SETTLED = "settled"


class PaymentStatus(StrEnum):
    """pending → paid / failed."""

    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"


class PaymentBatch(SQLModel, table=True):
    """A set of payments sent to the bank in one file, with its control count and total."""

    __tablename__ = "payment_batch"

    id: int | None = Field(default=None, primary_key=True)
    batch_no: str = Field(max_length=32, unique=True)
    policy_year_id: int = Field(foreign_key="policy_year.id", index=True)
    status: str = status_field(BatchStatus.CREATED)
    version: int = 1
    payment_count: int = 0
    total_fen: int = money_field()
    file_key: str | None = Field(default=None, max_length=255)
    file_sha256: str | None = Field(default=None, max_length=64)
    created_by: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = timestamp_field()
    settled_at: datetime | None = timestamp_field(default_now=False)


class Payment(SQLModel, table=True):
    """One transfer to a member's bank card, with the payee data snapshotted at payment time."""

    __tablename__ = "payment"
    __table_args__ = (
        UniqueConstraint("claim_id", "attempt"),
        # The database, not the code, guarantees a claim is never paid twice: at most one payment
        # per claim that is pending or paid.
        Index(
            "uq_payment_one_live_per_claim",
            "claim_id",
            unique=True,
            sqlite_where=text("status != 'failed'"),
            postgresql_where=text("status != 'failed'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="payment_batch.id", index=True)
    claim_id: int = Field(foreign_key="claim.id", index=True)
    attempt: int = 1
    amount_fen: int = money_field(default=...)
    payee_name: str = Field(max_length=64)
    bank_card: str = Field(max_length=32)
    bank_name: str = Field(max_length=64)
    status: str = status_field(PaymentStatus.PENDING)
    version: int = 1
    bank_reference: str | None = Field(default=None, max_length=64)
    failure_reason: str | None = Field(default=None, max_length=200)
    settled_at: datetime | None = timestamp_field(default_now=False)
