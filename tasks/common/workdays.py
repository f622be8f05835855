"""Working-day arithmetic with a configurable calendar: public holidays off, and the weekend days that are
worked instead (调休上班), as China's holiday calendar moves them every year."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from models.rules import PolicyRules

SHANGHAI = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)


@dataclass(frozen=True)
class Calendar:
    """Which days are worked: Monday to Friday, less `holidays`, plus `extra_workdays`."""

    holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()

    @classmethod
    def of(cls, holidays: Collection[date] = (), extra_workdays: Collection[date] = ()) -> Calendar:
        """A calendar from the rules' lists."""
        return cls(frozenset(holidays), frozenset(extra_workdays))

    def is_working_day(self, day: date) -> bool:
        """Whether people work on `day`."""
        if day in self.extra_workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The date `days` working days after `start` (`start` itself never counts)."""
        current = start
        remaining = days
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def end_of_working_day(self, moment: datetime, days: int) -> datetime:
        """The end (23:59:59 Shanghai time) of the working day `days` working days after `moment`, as aware UTC."""
        local_day = moment.astimezone(SHANGHAI).date()
        end = datetime.combine(self.add_working_days(local_day, days), END_OF_DAY, SHANGHAI)
        return end.astimezone(ZoneInfo("UTC"))


def add_working_days(
    start: date, days: int, *, holidays: Collection[date] = (), extra_workdays: Collection[date] = ()
) -> date:
    """The date `days` working days after start (weekends and holidays skipped, make-up workdays counted)."""
    return Calendar.of(holidays, extra_workdays).add_working_days(start, days)


def due_at(
    created: datetime, days: int, *, holidays: Collection[date] = (), extra_workdays: Collection[date] = ()
) -> datetime:
    """End of the working day `days` working days after `created`, Shanghai time, as aware UTC."""
    return Calendar.of(holidays, extra_workdays).end_of_working_day(created, days)


def calendar_of(rules: PolicyRules) -> Calendar:
    """The working-day calendar of a policy year."""
    return Calendar.of(rules.holidays, rules.extra_workdays)


def task_deadlines(rules: PolicyRules, level: int, opened: datetime) -> tuple[datetime, datetime]:
    """When a task of `level` opened at `opened` falls due, and when it is escalated if still undecided."""
    calendar = calendar_of(rules)
    days = rules.routing.due_working_days.get(level, 5)
    return (
        calendar.end_of_working_day(opened, days),
        calendar.end_of_working_day(opened, days + rules.routing.escalate_after_working_days),
    )
