"""A member's age for the eligibility rules, in Python and in SQL (DOMAIN 2.3).

Age is counted in whole years on the reference day, the registration day (Shanghai time) or the
year's start, whichever is later. In SQL it is (ref - birth) // 10000 with both dates as the integers
YYYYMMDD, which is exactly `age_on` for every pair of dates, 29 February included. The SQL functions
below compile for SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from models.base import as_utc

SHANGHAI = ZoneInfo("Asia/Shanghai")


def age_on(birth: date, on: date) -> int:
    """Age in whole years on a date."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def reference_day(registered_at: datetime, starts_on: date) -> date:
    """The day the age is taken: the registration day (Shanghai time) or the year's start, whichever is later."""
    return max(as_utc(registered_at).astimezone(SHANGHAI).date(), starts_on)


class _YMD(FunctionElement[int]):
    """A date as the integer YYYYMMDD."""

    type = Integer()
    inherit_cache = True


class _ShanghaiYMD(FunctionElement[int]):
    """The Shanghai calendar day of a UTC timestamp, as the integer YYYYMMDD."""

    type = Integer()
    inherit_cache = True


class _Greatest(FunctionElement[int]):
    """The larger of two integers."""

    type = Integer()
    inherit_cache = True


def age_span(registered_at: ColumnElement[Any], starts_on: date, birth_date: ColumnElement[Any]) -> ColumnElement[int]:
    """SQL: the reference day less the birth day, both as YYYYMMDD; the age in whole years is this // 10000."""
    starts = int(starts_on.strftime("%Y%m%d"))
    return _Greatest(_ShanghaiYMD(registered_at), literal(starts, Integer)) - _YMD(birth_date)


def _ymd_postgresql(day: str) -> str:
    parts = f"date_part('year', {day}) * 10000 + date_part('month', {day}) * 100 + date_part('day', {day})"
    return f"CAST({parts} AS INTEGER)"


@compiles(_YMD, "sqlite")
def _ymd_sqlite(element: _YMD, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(replace({compiler.process(element.clauses, **kw)}, '-', '') AS INTEGER)"


@compiles(_YMD, "postgresql")
def _ymd_pg(element: _YMD, compiler: SQLCompiler, **kw: Any) -> str:
    return _ymd_postgresql(compiler.process(element.clauses, **kw))


@compiles(_ShanghaiYMD, "sqlite")
def _shanghai_sqlite(element: _ShanghaiYMD, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps timestamps as naive UTC text and knows no time zones; Shanghai has been UTC+8 all year
    # round since 1991, long before any registration this system holds.
    return f"CAST(replace(date({compiler.process(element.clauses, **kw)}, '+8 hours'), '-', '') AS INTEGER)"


@compiles(_ShanghaiYMD, "postgresql")
def _shanghai_pg(element: _ShanghaiYMD, compiler: SQLCompiler, **kw: Any) -> str:
    return _ymd_postgresql(f"CAST(timezone('Asia/Shanghai', {compiler.process(element.clauses, **kw)}) AS DATE)")


@compiles(_Greatest, "sqlite")
def _greatest_sqlite(element: _Greatest, compiler: SQLCompiler, **kw: Any) -> str:
    return f"max({compiler.process(element.clauses, **kw)})"


@compiles(_Greatest, "postgresql")
def _greatest_pg(element: _Greatest, compiler: SQLCompiler, **kw: Any) -> str:
    return f"GREATEST({compiler.process(element.clauses, **kw)})"
