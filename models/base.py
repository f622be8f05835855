"""Column helpers shared by the tables: UTC timestamps, money in integer fen, string enums."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, String
from sqlmodel import Field

FEN_PER_YUAN = 100


def utcnow() -> datetime:
    """Now, in UTC, timezone-aware."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A stored timestamp as aware UTC (SQLite hands them back naive)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def yuan_to_fen(amount: Decimal | str | int) -> int:
    """Yuan (exact decimal) to integer fen, ROUND_HALF_UP."""
    value = Decimal(str(amount)) if not isinstance(amount, Decimal) else amount
    return int((value * FEN_PER_YUAN).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def fen_to_yuan(fen: int) -> Decimal:
    """Integer fen to yuan with two decimals."""
    return (Decimal(fen) / FEN_PER_YUAN).quantize(Decimal("0.01"))


def format_yuan(fen: int) -> str:
    """Fen as '1,234.56' for letters and pages (integer arithmetic: explanations format hundreds of
    thousands of amounts in a run)."""
    yuan, cents = divmod(abs(fen), 100)
    return f"{'-' if fen < 0 else ''}{yuan:,}.{cents:02d}"


def money_field(default: Any = 0, **kwargs: Any) -> Any:
    """An integer-fen money column (BIGINT)."""
    return Field(default=default, sa_type=BigInteger, **kwargs)


def status_field(default: str, **kwargs: Any) -> Any:
    """A status column; write it only through models.states."""
    return Field(default=default, sa_type=String(24), index=True, **kwargs)


def enum_field(default: Any = ..., length: int = 24, **kwargs: Any) -> Any:
    """A short string column holding a StrEnum value."""
    return Field(default=default, sa_type=String(length), **kwargs)


def timestamp_field(default_now: bool = True, **kwargs: Any) -> Any:
    """A timezone-aware timestamp column (UTC)."""
    if default_now:
        return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), **kwargs)
    return Field(default=None, sa_type=DateTime(timezone=True), **kwargs)


def json_field(**kwargs: Any) -> Any:
    """A JSON column (TEXT on SQLite, JSON on PostgreSQL)."""
    return Field(sa_type=JSON, **kwargs)
