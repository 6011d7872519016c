"""The injected clock: nothing in zhikong reads the wall clock directly."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    """Source of the current time (always timezone-aware UTC)."""

    def now(self) -> datetime:
        """The current instant in UTC."""
        ...


class SystemClock:
    """The real clock of the machine."""

    def now(self) -> datetime:
        """The current instant in UTC."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still (or is moved by hand), for tests and replays."""

    def __init__(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._instant = instant.astimezone(UTC)

    def now(self) -> datetime:
        """The instant this clock is set to."""
        return self._instant

    def set(self, instant: datetime) -> None:
        """Move the clock to another instant."""
        if instant.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._instant = instant.astimezone(UTC)


def local_date(clock: Clock, timezone: str) -> date:
    """Today's date in a time zone (e.g. Asia/Shanghai), per the clock."""
    return clock.now().astimezone(ZoneInfo(timezone)).date()
