"""Working days in mainland China: public holidays and make-up working days (调休). Pure.

The calendar is the State Council's yearly holiday notice as kept by the maintained
`chinese-calendar` package, not a table written here. That package knows a fixed range of
years (2004 to the last year whose notice it ships); any date outside it raises
`CalendarRangeError` instead of guessing — upgrade the package when a new notice is out.

Counting follows the rules for periods in Chinese law (民法典 第二百零一条至第二百零三条;
行政许可法 第八十二条: periods counted in working days exclude public holidays): the day an
event happens is not counted, counting starts the next day, and a period ends at 24:00 of its
last day. So a reply due "within 1 working day" of a request made on Friday 2020-01-17 is due
by the end of Sunday 2020-01-19, which was a make-up working day.

A `WorkingCalendar` may add local adjustments (extra days off, extra working days) on top of
the national calendar, e.g. a province's own rest-day decision; the module-level functions use
the national calendar alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import chinese_calendar

DEFAULT_TIMEZONE = "Asia/Shanghai"

_KNOWN_YEARS = (
    min(chinese_calendar.holidays).year,
    max(chinese_calendar.holidays).year,
)


class CalendarRangeError(ValueError):
    """A date outside the years for which the holiday calendar is known."""

    def __init__(self, day: date) -> None:
        first, last = _KNOWN_YEARS
        super().__init__(
            f"{day.isoformat()} is outside the working-day calendar ({first}–{last}); "
            "a newer chinese-calendar release is needed for later years"
        )
        self.day = day


def supported_years() -> tuple[int, int]:
    """First and last year the holiday calendar covers."""
    return _KNOWN_YEARS


def _zone(tz: str | tzinfo) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def _local(instant: datetime, tz: str | tzinfo) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("working-day arithmetic needs a timezone-aware datetime")
    return instant.astimezone(_zone(tz))


@dataclass(frozen=True)
class WorkingCalendar:
    """The national calendar plus optional local days off and working days."""

    extra_days_off: frozenset[date] = field(default_factory=frozenset)
    extra_working_days: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        both = self.extra_days_off & self.extra_working_days
        if both:
            first = min(both).isoformat()
            raise ValueError(f"{first} cannot be both an extra day off and an extra working day")

    def is_working_day(self, day: date) -> bool:
        """True when people work on that date (weekdays not on holiday, and make-up days)."""
        if day in self.extra_working_days:
            return True
        if day in self.extra_days_off:
            return False
        if not _KNOWN_YEARS[0] <= day.year <= _KNOWN_YEARS[1]:
            raise CalendarRangeError(day)
        return bool(chinese_calendar.is_workday(day))

    def holiday_name(self, day: date) -> str | None:
        """The national holiday a date belongs to (also for its make-up days), else None."""
        if not _KNOWN_YEARS[0] <= day.year <= _KNOWN_YEARS[1]:
            raise CalendarRangeError(day)
        _, name = chinese_calendar.get_holiday_detail(day)
        return str(name) if name else None

    def shift(self, day: date, n: int) -> date:
        """The n-th working day after `day` (before it when n < 0); `day` itself never counts."""
        if n == 0:
            return day
        step = timedelta(days=1 if n > 0 else -1)
        remaining = abs(n)
        current = day
        while remaining:
            current += step
            if self.is_working_day(current):
                remaining -= 1
        return current

    def next_working_day(self, day: date) -> date:
        """The first working day after `day`."""
        return self.shift(day, 1)

    def add_working_days(self, start: datetime, n: int, tz: str | tzinfo) -> datetime:
        """The same local time of day on the n-th working day after the start's local date."""
        local = _local(start, tz)
        target = self.shift(local.date(), n)
        moved = datetime.combine(target, local.timetz()).replace(tzinfo=local.tzinfo)
        return moved.astimezone(local.tzinfo)

    def deadline(self, start: datetime, n: int, tz: str | tzinfo) -> datetime:
        """The end (24:00 local) of the n-th working day after the start's local date, in UTC."""
        if n < 1:
            raise ValueError("a deadline is at least 1 working day")
        zone = _zone(tz)
        last = self.shift(_local(start, zone).date(), n)
        end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
        return end.astimezone(ZoneInfo("UTC"))

    def working_days_between(self, start: date, end: date) -> int:
        """Working days d with start < d <= end (negative when end is before start)."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(1 for d in _days(start + timedelta(days=1), end) if self.is_working_day(d))


def _days(first: date, last: date) -> Iterable[date]:
    current = first
    while current <= last:
        yield current
        current += timedelta(days=1)


NATIONAL = WorkingCalendar()
"""Mainland China's national calendar, without local adjustments."""


def is_working_day(day: date) -> bool:
    """True when `day` is a working day in mainland China."""
    return NATIONAL.is_working_day(day)


def next_working_day(day: date) -> date:
    """The first working day after `day`."""
    return NATIONAL.next_working_day(day)


def add_working_days(start: datetime, n: int, tz: str | tzinfo = DEFAULT_TIMEZONE) -> datetime:
    """The same local time on the n-th working day after the start's local date."""
    return NATIONAL.add_working_days(start, n, tz)


def deadline(start: datetime, n: int, tz: str | tzinfo = DEFAULT_TIMEZONE) -> datetime:
    """When a period of n working days that starts at `start` ends (24:00 local, as UTC)."""
    return NATIONAL.deadline(start, n, tz)


def working_days_between(start: date, end: date) -> int:
    """Working days d with start < d <= end (negative when end is before start)."""
    return NATIONAL.working_days_between(start, end)
