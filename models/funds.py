"""The earmarked fund (专款专用): receipts by source, one ledger per policy year, balance never negative."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import enum_field, money_field, timestamp_field


class FundSource(StrEnum):
    """DOMAIN 2.4 fund sources."""

    CONTRIBUTION = "contribution"  # member contributions, paid by units
    UNION_SUBSIDY = "union_subsidy"  # 工会经费补助
    DONATION = "donation"  # 社会捐赠
    GOVERNMENT = "government"  # 政府资助


class FundAccount(SQLModel, table=True):
    """The running totals of one policy year's fund; the database refuses a negative balance."""

    __tablename__ = "fund_account"
    __table_args__ = (
        CheckConstraint("balance_fen >= 0", name="ck_fund_balance_not_negative"),
        CheckConstraint("balance_fen = receipts_fen - payouts_fen", name="ck_fund_balance_is_receipts_less_payouts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    policy_year_id: int = Field(foreign_key="policy_year.id", unique=True)
    receipts_fen: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    payouts_fen: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    balance_fen: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


class FundReceipt(SQLModel, table=True):
    """Money in: one receipt with source, payer, amount, date and reference."""

    __tablename__ = "fund_receipt"
    __table_args__ = (UniqueConstraint("policy_year_id", "reference"),)

    id: int | None = Field(default=None, primary_key=True)
    policy_year_id: int = Field(foreign_key="policy_year.id", index=True)
    source: FundSource = enum_field(length=16)
    payer: str = Field(max_length=120)
    payer_org_id: int | None = Field(default=None, foreign_key="org_unit.id", index=True)
    amount_fen: int = money_field(default=...)
    received_on: date
    reference: str = Field(max_length=64)
    member_count: int = 0
    recorded_by: int | None = Field(default=None, foreign_key="app_user.id")
    recorded_at: datetime = timestamp_field()


class LedgerKind(StrEnum):
    """What moved the balance."""

    RECEIPT = "receipt"
    PAYOUT = "payout"
    PAYOUT_REVERSED = "payout_reversed"


class LedgerEntry(SQLModel, table=True):
    """One movement of the fund; amount is signed (receipts +, payouts −). Never updated or deleted."""

    __tablename__ = "ledger_entry"

    id: int | None = Field(default=None, primary_key=True)
    policy_year_id: int = Field(foreign_key="policy_year.id", index=True)
    kind: LedgerKind = enum_field(length=16)
    amount_fen: int = money_field(default=...)
    receipt_id: int | None = Field(default=None, foreign_key="fund_receipt.id")
    batch_id: int | None = Field(default=None, foreign_key="payment_batch.id")
    payment_id: int | None = Field(default=None, foreign_key="payment.id")
    memo: str | None = Field(default=None, max_length=200)
    posted_at: datetime = timestamp_field()
