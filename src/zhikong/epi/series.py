"""Count series: `series,date,count` rows validated per series into arrays.

Every method here works on the position of a row within its series (1-based `t` as in R),
never on calendar dates, so a series must be complete: one row per day (or per week, 7 days
apart), no duplicates, no gaps, counts that are non-negative integers. A series that breaks a
rule is reported with one line naming it; the other series are still usable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from zhikong.epi.errors import EpiInputError, SeriesError


class Frequency(StrEnum):
    """Sampling frequency of a count series."""

    day = "day"
    week = "week"

    @property
    def step_days(self) -> int:
        """Days between two consecutive rows."""
        return 1 if self is Frequency.day else 7

    @property
    def period(self) -> int:
        """Rows per year, as `surveillance` counts them (`freq` of an sts: 365 or 52)."""
        return 365 if self is Frequency.day else 52


@dataclass(frozen=True)
class CountSeries:
    """One complete series: dates in order, one count per date."""

    name: str
    dates: NDArray[np.datetime64]
    counts: NDArray[np.float64]
    population: NDArray[np.float64] | None = None

    @property
    def n(self) -> int:
        """Number of time points."""
        return int(self.counts.shape[0])


@dataclass
class SeriesTable:
    """The usable series of an input table and one error per rejected series."""

    series: list[CountSeries] = field(default_factory=list)
    errors: list[SeriesError] = field(default_factory=list)


REQUIRED_COLUMNS = ("series", "date", "count")


def check_columns(columns: Sequence[str] | None, required: Sequence[str]) -> None:
    """Refuse a table that lacks one of the required columns."""
    present = set(columns or ())
    missing = [c for c in required if c not in present]
    if missing:
        raise EpiInputError(
            f"input lacks column(s) {', '.join(missing)} (needs {','.join(required)})",
            field=missing[0],
        )


def _parse_dates(name: str, raw: Sequence[str]) -> NDArray[np.datetime64]:
    try:
        return np.array([s.strip() for s in raw], dtype="datetime64[D]")
    except ValueError:
        for s in raw:
            try:
                np.datetime64(s.strip(), "D")
            except ValueError:
                raise SeriesError(name, f"date {s!r} is not an ISO date (YYYY-MM-DD)") from None
        raise SeriesError(name, "unreadable dates") from None


def _parse_numbers(
    name: str, what: str, raw: Sequence[str], dates: Sequence[str]
) -> NDArray[np.float64]:
    values = np.empty(len(raw), dtype=np.float64)
    for i, s in enumerate(raw):
        text = s.strip()
        if text == "" or text.lower() in {"na", "nan", "null", "none"}:
            raise SeriesError(name, f"missing {what} on {dates[i].strip()}")
        try:
            values[i] = float(text)
        except ValueError:
            raise SeriesError(
                name, f"{what} {text!r} on {dates[i].strip()} is not a number"
            ) from None
        if not np.isfinite(values[i]):
            raise SeriesError(name, f"{what} {text!r} on {dates[i].strip()} is not finite")
    return values


def build_series(
    name: str,
    raw_dates: Sequence[str],
    raw_counts: Sequence[str],
    frequency: Frequency,
    raw_population: Sequence[str] | None = None,
) -> CountSeries:
    """One validated series from its raw cells (any row order); SeriesError if unusable."""
    if not name.strip():
        raise SeriesError("(empty)", "the series name is empty")
    dates = _parse_dates(name, raw_dates)
    counts = _parse_numbers(name, "count", raw_counts, raw_dates)
    order = np.argsort(dates, kind="stable")
    dates = dates[order]
    counts = counts[order]
    negative = np.flatnonzero(counts < 0)
    if negative.size:
        i = int(negative[0])
        raise SeriesError(name, f"negative count {counts[i]:g} on {dates[i]}")
    fractional = np.flatnonzero(counts != np.floor(counts))
    if fractional.size:
        i = int(fractional[0])
        raise SeriesError(name, f"count {counts[i]:g} on {dates[i]} is not an integer")
    steps = np.diff(dates).astype(np.int64)
    duplicate = np.flatnonzero(steps == 0)
    if duplicate.size:
        raise SeriesError(name, f"date {dates[int(duplicate[0])]} occurs more than once")
    gap = np.flatnonzero(steps != frequency.step_days)
    if gap.size:
        i = int(gap[0])
        unit = "day" if frequency is Frequency.day else "week (7 days)"
        raise SeriesError(
            name,
            f"gap between {dates[i]} and {dates[i + 1]}: expected one row per {unit}",
        )
    population = None
    if raw_population is not None:
        population = _parse_numbers(name, "population", raw_population, raw_dates)[order]
        bad = np.flatnonzero(population <= 0)
        if bad.size:
            raise SeriesError(name, f"population on {dates[int(bad[0])]} must be positive")
    return CountSeries(name=name, dates=dates, counts=counts, population=population)


def series_from_rows(
    rows: Iterable[Mapping[str, str | None]],
    frequency: Frequency,
    *,
    with_population: bool = False,
) -> SeriesTable:
    """Group `series,date,count` rows by series (first-seen order) and validate each."""
    grouped: dict[str, tuple[list[str], list[str], list[str]]] = {}
    for row in rows:
        name = (row.get("series") or "").strip()
        cells = grouped.setdefault(name, ([], [], []))
        cells[0].append(row.get("date") or "")
        cells[1].append(row.get("count") or "")
        if with_population:
            cells[2].append(row.get("population") or "")
    table = SeriesTable()
    for name, (raw_dates, raw_counts, raw_population) in grouped.items():
        try:
            table.series.append(
                build_series(
                    name,
                    raw_dates,
                    raw_counts,
                    frequency,
                    raw_population if with_population else None,
                )
            )
        except SeriesError as exc:
            table.errors.append(exc)
    return table


def stack_counts(
    series: Sequence[CountSeries],
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Counts as one array [series × time], aligned at t = 1, NaN after each series' end."""
    lengths = np.array([s.n for s in series], dtype=np.int64)
    width = int(lengths.max()) if lengths.size else 0
    out = np.full((len(series), width), np.nan)
    for i, s in enumerate(series):
        out[i, : s.n] = s.counts
    return out, lengths


def stack_population(series: Sequence[CountSeries]) -> NDArray[np.float64] | None:
    """Populations as [series × time] (NaN padded), or None when a series has none."""
    if not series or any(s.population is None for s in series):
        return None
    width = max(s.n for s in series)
    out = np.full((len(series), width), np.nan)
    for i, s in enumerate(series):
        assert s.population is not None
        out[i, : s.n] = s.population
    return out
