"""Working days on Chinese public holidays and make-up days (chinese-calendar), 2020 dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhikong.workdays import (
    CalendarRangeError,
    WorkingCalendar,
    add_working_days,
    deadline,
    is_working_day,
    next_working_day,
    supported_years,
    working_days_between,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


def test_spring_festival_2020_as_extended_by_the_state_council() -> None:
    # Original notice: 24-30 Jan off, 19 Jan (Sunday) and 1 Feb (Saturday) make-up days.
    # The State Council extended the holiday to 2 Feb (国办发明电〔2020〕1号), which also
    # cancelled the 1 Feb make-up day; chinese-calendar records the extension.
    assert is_working_day(date(2020, 1, 19))  # make-up working Sunday
    assert is_working_day(date(2020, 1, 23))
    for day in range(24, 32):
        assert not is_working_day(date(2020, 1, day))
    assert not is_working_day(date(2020, 2, 1))  # Saturday: no longer a make-up day
    assert not is_working_day(date(2020, 2, 2))
    assert is_working_day(date(2020, 2, 3))  # first national working day after the holiday


def test_national_day_2020_with_its_make_up_days() -> None:
    assert is_working_day(date(2020, 9, 27))  # Sunday make-up day
    for day in range(1, 9):
        assert not is_working_day(date(2020, 10, day))
    assert is_working_day(date(2020, 10, 9))
    assert is_working_day(date(2020, 10, 10))  # Saturday make-up day
    assert not is_working_day(date(2020, 10, 11))


def test_ordinary_weekend_and_weekday() -> None:
    assert not is_working_day(date(2020, 3, 7)) and not is_working_day(date(2020, 3, 8))
    assert is_working_day(date(2020, 3, 9))


def test_deadline_counts_from_the_next_day_and_ends_at_local_midnight() -> None:
    # Friday 17 Jan 2020: the next working day is the make-up Sunday 19 Jan.
    assert deadline(at("2020-01-17"), 1) == datetime(2020, 1, 19, 16, 0, tzinfo=UTC)
    # A request on 23 Jan due in 1 working day is due at the end of 3 Feb (the holiday and the
    # cancelled 1 Feb make-up day do not count).
    due = deadline(at("2020-01-23", 17), 1)
    assert due.astimezone(SHANGHAI) == datetime(2020, 2, 4, 0, 0, tzinfo=SHANGHAI)
    # 3 working days from the eve of National Day 2020: 9, 10 and 12 October.
    assert deadline(at("2020-09-30"), 3).astimezone(SHANGHAI).date() == date(2020, 10, 13)
    with pytest.raises(ValueError, match="at least 1"):
        deadline(at("2020-02-10"), 0)


def test_add_working_days_keeps_the_local_time() -> None:
    moved = add_working_days(at("2020-01-23", 9), 1)
    assert moved == at("2020-02-03", 9)
    assert add_working_days(at("2020-02-03", 9), -1) == at("2020-01-23", 9)
    assert add_working_days(at("2020-02-03", 9), 0) == at("2020-02-03", 9)
    # The local date decides: 23:30 UTC on 2 Feb is already 3 Feb in Shanghai.
    late = datetime(2020, 2, 2, 23, 30, tzinfo=UTC)
    assert add_working_days(late, 1, "Asia/Shanghai").date() == date(2020, 2, 4)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_working_days(datetime(2020, 2, 3, 9), 1)


def test_working_days_between_and_next_working_day() -> None:
    assert working_days_between(date(2020, 1, 23), date(2020, 2, 3)) == 1
    assert working_days_between(date(2020, 2, 3), date(2020, 1, 23)) == -1
    assert working_days_between(date(2020, 2, 10), date(2020, 2, 10)) == 0
    assert working_days_between(date(2020, 9, 26), date(2020, 10, 10)) == 6  # 27-30 Sep, 9-10 Oct
    assert next_working_day(date(2020, 1, 17)) == date(2020, 1, 19)


def test_outside_the_known_years_is_a_clear_error_not_a_guess() -> None:
    first, last = supported_years()
    assert first <= 2020 <= last
    with pytest.raises(CalendarRangeError, match=f"{first}–{last}"):
        is_working_day(date(last + 1, 1, 5))
    with pytest.raises(CalendarRangeError):
        is_working_day(date(first - 1, 6, 1))
    # a deadline that runs past the last known year fails too
    with pytest.raises(CalendarRangeError):
        deadline(datetime(last, 12, 30, 10, tzinfo=SHANGHAI), 5)


def test_local_adjustments_on_top_of_the_national_calendar() -> None:
    # e.g. a province keeping enterprises closed until 9 Feb 2020 for its own deadlines
    closed = frozenset(date(2020, 2, d) for d in range(3, 10))
    calendar = WorkingCalendar(extra_days_off=closed)
    assert is_working_day(date(2020, 2, 3)) and not calendar.is_working_day(date(2020, 2, 3))
    assert calendar.next_working_day(date(2020, 1, 23)) == date(2020, 2, 10)
    extra = WorkingCalendar(extra_working_days=frozenset({date(2020, 2, 8)}))
    assert extra.is_working_day(date(2020, 2, 8))
    with pytest.raises(ValueError, match="both"):
        WorkingCalendar(extra_days_off=closed, extra_working_days=closed)


days_2019_2021 = st.dates(min_value=date(2019, 1, 1), max_value=date(2021, 10, 1))


@given(days_2019_2021, st.integers(min_value=0, max_value=40))
def test_shift_and_between_are_inverse(start: date, n: int) -> None:
    end = add_working_days(datetime.combine(start, datetime.min.time(), SHANGHAI), n).date()
    assert working_days_between(start, end) == n
    if n:
        assert is_working_day(end)
        assert end > start


@given(days_2019_2021, st.integers(min_value=1, max_value=30))
def test_deadline_is_midnight_after_a_working_day(start: date, n: int) -> None:
    due = deadline(datetime.combine(start, datetime.min.time(), SHANGHAI), n).astimezone(SHANGHAI)
    assert (due.hour, due.minute) == (0, 0)
    last = due.date() - timedelta(days=1)
    assert is_working_day(last)
    assert working_days_between(start, last) == n
