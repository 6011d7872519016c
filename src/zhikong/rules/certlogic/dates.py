"""CertLogic date-times: parsing, ``plusTime`` and ``dccDateOfBirth``, exactly as certlogic-js.

A date-time is a point in time with millisecond precision, the value of a JavaScript ``Date``
(milliseconds since 1970-01-01T00:00:00Z). All arithmetic is done on integers with the
proleptic Gregorian calendar, so years 0000-9999 (and beyond, after offsetting) work, and no
time zone database or wall clock is involved.

``plusTime`` follows the specification's definition ``dateTime.setUTC<unit>(getUTC<unit>() +
amount)``: adding months or years keeps the day of the month and lets it *overflow* into the
next month, as JavaScript's ``Date`` does. So ``2020-01-31 + 1 month = 2020-03-02`` and
``2020-02-29 + 1 year = 2021-03-01`` (both are in the specification's leap-day table or follow
from it); there is no clamping to the end of the month.

A string that matches the allowed formats but has out-of-range fields (month 13, hour 25) is an
"Invalid Date", as JavaScript's ``new Date(...)`` gives: it is a date-time, but every comparison
with it is false. Day numbers 29-31 that a month lacks overflow into the next month (V8's
behaviour for ``new Date("2021-02-30")``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Final, Literal, final

from zhikong.rules.certlogic.errors import CertLogicError

__all__ = [
    "TIME_UNITS",
    "DateTime",
    "TimeUnit",
    "clear_caches",
    "date_time_from_string",
    "dcc_date_of_birth",
    "plus_time",
    "plus_time_ms",
    "plus_time_operand_ms",
]

TimeUnit = Literal["year", "month", "day", "hour"]
#: The time units of ``plusTime``, in the order certlogic-js lists them.
TIME_UNITS: Final[tuple[str, ...]] = ("year", "month", "day", "hour")

MS_PER_DAY: Final = 86_400_000
MS_PER_HOUR: Final = 3_600_000
#: ECMAScript's TimeClip bound: a Date holds at most 8.64e15 ms either side of the epoch.
MAX_TIME_MS: Final = 8_640_000_000_000_000


@final
class DateTime:
    """A CertLogic date-time value (a JavaScript ``Date``); ``epoch_ms`` is None if invalid.

    Equality is identity, exactly like ``===`` on two ``Date`` objects in JavaScript; use
    :meth:`same_instant` to compare the points in time.
    """

    __slots__ = ("epoch_ms",)

    #: Milliseconds since 1970-01-01T00:00:00Z, or None for an Invalid Date (read-only).
    epoch_ms: int | None

    def __init__(self, epoch_ms: int | None) -> None:
        self.epoch_ms = epoch_ms

    @property
    def is_valid(self) -> bool:
        """Whether this is a valid date-time (not JavaScript's Invalid Date)."""
        return self.epoch_ms is not None

    def same_instant(self, other: DateTime) -> bool:
        """Whether both denote the same point in time (two Invalid Dates are not the same)."""
        return self.epoch_ms is not None and self.epoch_ms == other.epoch_ms

    def iso(self) -> str:
        """The value as JavaScript's ``toISOString()`` writes it ("Invalid Date" if invalid)."""
        ms = self.epoch_ms
        if ms is None:
            return "Invalid Date"
        days, ms_of_day = divmod(ms, MS_PER_DAY)
        year, month, day = civil_from_days(days)
        seconds, millis = divmod(ms_of_day, 1000)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        if 0 <= year <= 9999:
            year_text = f"{year:04d}"
        else:
            year_text = f"{'-' if year < 0 else '+'}{abs(year):06d}"
        return (
            f"{year_text}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}Z"
        )

    def to_datetime(self) -> datetime | None:
        """The value as an aware UTC :class:`datetime`, if valid and within its range."""
        if self.epoch_ms is None:
            return None
        try:
            return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=self.epoch_ms)
        except OverflowError:
            return None

    def __repr__(self) -> str:
        return f"DateTime({self.iso()!r})"


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (month 1-12, day may overflow)."""
    y = year - 1 if month <= 2 else year
    era = y // 400
    yoe = y - era * 400
    mp = month + 9 if month <= 2 else month - 3
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def civil_from_days(days: int) -> tuple[int, int, int]:
    """The proleptic Gregorian (year, month 1-12, day) of a day number since 1970-01-01."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if month <= 2 else 0), month, day


def make_day(year: int, month0: int, date: int) -> int:
    """ECMAScript MakeDay: day number of (year, 0-based month, date), months and dates overflow."""
    year += month0 // 12
    month0 %= 12
    return days_from_civil(year, month0 + 1, 1) + date - 1


_ORDINAL_OF_EPOCH: Final = date(1970, 1, 1).toordinal()


def _time_clip(ms: int) -> int | None:
    return ms if abs(ms) <= MAX_TIME_MS else None


def _iso_fields_to_ms(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    millis: int = 0,
    offset_minutes: int = 0,
) -> int | None:
    """What ``new Date("YYYY-MM-DDTHH:mm:ss.sss±HH:mm")`` yields: epoch ms, None if invalid."""
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    if hour == 24:
        if minute or second or millis:
            return None
    elif hour > 23 or minute > 59 or second > 59:
        return None
    if 1 <= year <= 9999:  # the C implementation of the proleptic Gregorian calendar
        days = date(year, month, 1).toordinal() - _ORDINAL_OF_EPOCH + day - 1
    else:
        days = make_day(year, month - 1, day)
    local = days * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + millis
    return _time_clip(local - offset_minutes * 60_000)


_YEAR_RE: Final = re.compile(r"[0-9]{4}")
_YEAR_MONTH_RE: Final = re.compile(r"([0-9]{4})-([0-9]{2})")
_DATE_RE: Final = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
# "YYYY-MM-DD" alone, or one of the date-time formats; certlogic-js tests the two separately
# (the first with `new Date(str)`), which comes to the same: a date alone is midnight UTC.
_DATE_TIME_RE: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+?)?(Z|([+-])([0-9]{1,2}):?([0-9]{2})?)?)?"
)


def _canonical_shape(text: str) -> bool:
    """Whether ``text`` has the separators of YYYY-MM-DDThh:mm:ss[.sss](Z|[+-]hh:mm)."""
    n = len(text)
    if n < 20 or text[10] != "T" or text[13] != ":" or text[16] != ":":
        return False
    if n == 20:
        return text[19] == "Z"
    if n == 24:
        return text[19] == "." and text[23] == "Z"
    # (the C parser takes an offset's minutes up to 99: those must take the exact path)
    if n == 25:
        return text[19] in "+-" and text[22] == ":" and text[23] < "6"
    return n == 29 and text[19] == "." and text[23] in "+-" and text[26] == ":" and text[27] < "6"


@lru_cache(maxsize=4096)
def _date_time_ms(text: str) -> int | None:
    """certlogic-js ``dateFromString``: epoch ms (None if Invalid Date); raises if malformed.

    The usual shapes are handed to the C parser of :mod:`datetime`, whose digit fields are
    strictly ASCII; anything it refuses (other shapes, Feb 30, 24:00, year 0) takes the exact
    path, :func:`_parse_date_time`.
    """
    if text.isascii() and len(text) >= 10 and text[4] == "-" and text[7] == "-":
        if len(text) == 10:
            try:
                return (date.fromisoformat(text).toordinal() - _ORDINAL_OF_EPOCH) * MS_PER_DAY
            except ValueError:
                pass
        elif _canonical_shape(text):
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                pass
            else:
                offset = moment.utcoffset()
                offset_seconds = offset.days * 86_400 + offset.seconds if offset else 0
                seconds = (moment.hour * 60 + moment.minute) * 60 + moment.second
                return (
                    (moment.toordinal() - _ORDINAL_OF_EPOCH) * MS_PER_DAY
                    + (seconds - offset_seconds) * 1000
                    + moment.microsecond // 1000
                )
    return _parse_date_time(text)


def _parse_date_time(text: str) -> int | None:
    """The exact reading of certlogic-js ``dateFromString`` followed by ``new Date(...)``."""
    match = _DATE_TIME_RE.fullmatch(text)
    if match is None:
        raise CertLogicError(f"not an allowed date or date-time format: {text}")
    (
        year_text,
        month_text,
        day_text,
        hour_text,
        minute,
        second,
        fraction,
        _,
        sign,
        tz_hours,
        tz_minutes,
    ) = match.groups()
    year, month, day = int(year_text), int(month_text), int(day_text)
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    if year:  # the C implementation of the proleptic Gregorian calendar
        days = date(year, month, 1).toordinal() - _ORDINAL_OF_EPOCH + day - 1
    else:
        days = make_day(year, month - 1, day)
    if hour_text is None:  # a date alone: midnight UTC (a 4-digit year is always in range)
        return days * MS_PER_DAY
    hour, minutes, seconds = int(hour_text), int(minute), int(second)
    millis = int(fraction[1:4].ljust(3, "0")) if fraction else 0
    if hour == 24:  # only 24:00:00.000, the end of the day, is allowed
        if minutes or seconds or millis:
            return None
    elif hour > 23 or minutes > 59 or seconds > 59:
        return None
    offset = 0
    if sign is not None:  # a [+-]h[h][[:]mm] offset; "Z" or none means UTC
        offset_hours = int(tz_hours)
        offset_minutes = int(tz_minutes) if tz_minutes is not None else 0
        if offset_hours > 23 or offset_minutes > 59:
            return None
        offset = offset_hours * 60 + offset_minutes
        if sign == "-":
            offset = -offset
    return days * MS_PER_DAY + ((hour * 60 + minutes - offset) * 60 + seconds) * 1000 + millis


@lru_cache(maxsize=4096)
def _dob_ms(text: str) -> int | None:
    """certlogic-js ``dccDateOfBirth``: the last date-time consistent with a (partial) date."""
    if _YEAR_RE.fullmatch(text):
        return _iso_fields_to_ms(int(text), 12, 31)
    match = _YEAR_MONTH_RE.fullmatch(text)
    if match is not None:
        year, month = int(match[1]), int(match[2])
        if _iso_fields_to_ms(year, month, 1) is None:
            return None
        # setUTCMonth(month + 1) on the 1st, then setUTCDate(0): the last day of the month.
        return _time_clip((make_day(year, month, 1) - 1) * MS_PER_DAY)
    match = _DATE_RE.fullmatch(text)
    if match is not None:
        return _iso_fields_to_ms(int(match[1]), int(match[2]), int(match[3]))
    raise CertLogicError(f'can\'t parse "{text}" as an EU DCC date-of-birth')


def date_time_from_string(text: str) -> DateTime:
    """Parse a date or date-time string in one of the formats CertLogic allows."""
    return DateTime(_date_time_ms(text))


def dcc_date_of_birth(text: str) -> DateTime:
    """Convert a DCC date of birth (YYYY, YYYY-MM or YYYY-MM-DD) to its last possible instant."""
    return DateTime(_dob_ms(text))


def _plus_ms(ms: int, amount: int, unit: str) -> int | None:
    if unit == "day":
        return _time_clip(ms + amount * MS_PER_DAY)
    if unit == "hour":
        return _time_clip(ms + amount * MS_PER_HOUR)
    days, ms_of_day = divmod(ms, MS_PER_DAY)
    year, month, day = civil_from_days(days)
    if unit == "month":
        new_days = make_day(year, month - 1 + amount, day)
    elif unit == "year":
        new_days = make_day(year + amount, month - 1, day)
    else:
        raise CertLogicError(f'unknown time unit "{unit}"')
    return _time_clip(new_days * MS_PER_DAY + ms_of_day)


def plus_time_operand_ms(text: str) -> int | None:
    """The date-time a ``plusTime`` operand denotes, in epoch ms (None for Invalid Date).

    Partial dates (YYYY, YYYY-MM) are read as ``dccDateOfBirth`` reads them.
    """
    if len(text) in (4, 7) and (_YEAR_RE.fullmatch(text) or _YEAR_MONTH_RE.fullmatch(text)):
        return _dob_ms(text)
    return _date_time_ms(text)


def plus_time_ms(text: str, amount: int, unit: str) -> int | None:
    """``plusTime`` as epoch ms (None for Invalid Date); ``unit`` must be one of TIME_UNITS."""
    ms = plus_time_operand_ms(text)
    if ms is None or amount == 0:
        return ms
    return _plus_ms(ms, amount, unit)


def clear_caches() -> None:
    """Forget the memoised readings of date strings (for benchmarks; results never change)."""
    _date_time_ms.cache_clear()
    _dob_ms.cache_clear()


def plus_time(text: str, amount: int, unit: str) -> DateTime:
    """Parse ``text`` as a date(-time) and add ``amount`` years, months, days or hours."""
    if unit not in TIME_UNITS:
        raise CertLogicError(f'unknown time unit "{unit}"')
    return DateTime(plus_time_ms(text, int(amount), unit))
