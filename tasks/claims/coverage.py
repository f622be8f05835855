"""When a member is covered and when a claim is in time: one rule for adjudication, quotes and what-if.

Coverage (DOMAIN 2.4): a paid enrolment covers events from its coverage start to its end; a lapsed one
still covers what happened inside its dates. The filing deadline (DOMAIN 2.5) counts days after discharge
to the day the claim was handed in, as a date in Shanghai (times are stored in UTC).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from models.base import as_utc
from models.enrolments import EnrolmentStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")
COVERING_STATUSES = frozenset({EnrolmentStatus.ACTIVE, EnrolmentStatus.LAPSED})


def covers(status: str | None, start: date | None, end: date | None, on: date) -> bool:
    """Whether an enrolment in `status` with this coverage window covers an event on `on`."""
    return bool(status in COVERING_STATUSES and start and end and start <= on <= end)


def local_date(moment: datetime) -> date:
    """The calendar date in Shanghai of a stored (UTC) time."""
    return as_utc(moment).astimezone(SHANGHAI).date()


def in_time(handed_in: date, end_date: date, deadline_days: int) -> bool:
    """Whether a claim handed in on `handed_in` is within `deadline_days` after discharge (or the event)."""
    return handed_in <= end_date + timedelta(days=deadline_days)
