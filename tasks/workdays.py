"""Working-day arithmetic with a configurable holiday calendar (due dates of approval levels)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def add_working_days(start: date, days: int, *, holidays: Collection[date] = ()) -> date:
    """The date `days` working days after start (weekends and holidays skipped)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            remaining -= 1
    return current


def due_at(created: datetime, days: int, *, holidays: Collection[date] = ()) -> datetime:
    """End of the working day `days` working days after `created`, Shanghai time, as aware UTC."""
    local_day = created.astimezone(SHANGHAI).date()
    end = datetime.combine(add_working_days(local_day, days, holidays=holidays), time(23, 59, 59), SHANGHAI)
    return end.astimezone(ZoneInfo("UTC"))
