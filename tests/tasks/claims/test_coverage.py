"""Coverage and the filing deadline: one rule for adjudication, quotes and what-if."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from models.enrolments import EnrolmentStatus
from tasks.claims.coverage import covers, in_time, local_date

START, END = date(2026, 4, 5), date(2026, 12, 31)


@pytest.mark.parametrize(
    ("status", "on", "covered"),
    [
        (EnrolmentStatus.ACTIVE, date(2026, 4, 4), False),
        (EnrolmentStatus.ACTIVE, START, True),
        (EnrolmentStatus.ACTIVE, END, True),
        (EnrolmentStatus.ACTIVE, date(2027, 1, 1), False),
        (EnrolmentStatus.LAPSED, date(2026, 6, 1), True),  # a lapsed enrolment covers what happened in its dates
        (EnrolmentStatus.ELIGIBLE, date(2026, 6, 1), False),  # not paid
        (None, date(2026, 6, 1), False),
    ],
)
def test_covers(status: EnrolmentStatus | None, on: date, covered: bool) -> None:
    assert covers(status, START, END, on) is covered
    assert covers(EnrolmentStatus.ACTIVE, None, END, on) is False


def test_the_deadline_counts_the_day_in_shanghai() -> None:
    discharge = date(2026, 5, 10)
    last_day = date(2027, 5, 10)  # 365 days after discharge
    # 17:00 UTC on the last day is already 01:00 the next day in Shanghai: late
    evening_utc = datetime(2027, 5, 10, 17, 0, tzinfo=UTC)
    assert local_date(evening_utc) == date(2027, 5, 11)
    assert not in_time(local_date(evening_utc), discharge, 365)
    # 15:59 UTC is 23:59 in Shanghai: in time
    assert in_time(local_date(datetime(2027, 5, 10, 15, 59, tzinfo=UTC)), discharge, 365)
    assert in_time(last_day, discharge, 365) and not in_time(date(2027, 5, 11), discharge, 365)
    # a naive time from SQLite is read as UTC
    assert local_date(datetime(2027, 5, 10, 17, 0)) == date(2027, 5, 11)
